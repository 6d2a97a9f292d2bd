"""Faults a test injects into one cluster's Kubernetes API (admin API ``/faults``).

``{"status": 500, "count": 2}``: the next 2 Kubernetes requests answer 500
with a Status body (429 and 503 add ``Retry-After: 1``);
``{"delay_seconds": 3, "count": 1}``: the next request waits 3 s, then
answers normally (both keys: wait, then the status). Optional ``method`` and
``path_prefix`` restrict which requests a fault takes. Faults queue in order
and come before authentication, so a fault hits even a request whose token
would be refused.
"""

from __future__ import annotations

import copy
from typing import Any

from .scenario import is_int

_KEYS = {"status", "delay_seconds", "count", "method", "path_prefix"}
MAX_DELAY_SECONDS = 600


class FaultError(ValueError):
    """A fault that is not allowed; the message names the bad value."""


class FaultQueue:
    """Pending faults, oldest first. Not thread-safe: the cluster's lock guards it."""

    def __init__(self) -> None:
        self._faults: list[dict] = []
        self._last_id = 0

    def add(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise FaultError('a fault is a JSON object: {"status": 500, "count": 2} or {"delay_seconds": 3}')
        unknown = sorted(set(body) - _KEYS)
        if unknown:
            raise FaultError(f"unknown fault keys: {', '.join(unknown)}")
        status, delay = body.get("status"), body.get("delay_seconds")
        count = body.get("count", 1)
        if status is None and delay is None:
            raise FaultError("a fault needs status and/or delay_seconds")
        if status is not None and (not is_int(status) or not 400 <= status <= 599):
            raise FaultError("status: an HTTP status 400..599")
        if delay is not None and (
            isinstance(delay, bool)
            or not isinstance(delay, (int, float))
            or not 0 <= delay <= MAX_DELAY_SECONDS
        ):
            raise FaultError(f"delay_seconds: a number 0..{MAX_DELAY_SECONDS}")
        if not is_int(count) or count < 1:
            raise FaultError("count: an integer >= 1")
        for key in ("method", "path_prefix"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise FaultError(f"{key}: a string")
        self._last_id += 1
        self._faults.append(
            {
                "id": self._last_id,
                "status": status,
                "delay_seconds": delay,
                "remaining": count,
                "method": body["method"].upper() if body.get("method") else None,
                "path_prefix": body.get("path_prefix"),
            }
        )

    def take(self, method: str, path: str) -> dict | None:
        """The first fault that applies to this request, one use of it consumed."""
        for fault in self._faults:
            if fault["method"] and fault["method"] != method:
                continue
            if fault["path_prefix"] and not path.startswith(fault["path_prefix"]):
                continue
            fault["remaining"] -= 1
            if fault["remaining"] <= 0:
                self._faults.remove(fault)
            return dict(fault)
        return None

    def pending(self) -> list[dict]:
        return copy.deepcopy(self._faults)

    def clear(self) -> None:
        self._faults.clear()
