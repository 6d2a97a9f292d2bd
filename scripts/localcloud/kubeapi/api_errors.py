"""Kubernetes API errors, answered as a ``Status`` object as the API server does.

kube-rs turns a ``Status`` into ``kube::Error::Api`` and reads its ``code``
and ``reason``: ``get_opt`` answers ``None`` only for reason ``NotFound``, and
the adapter's retry rule looks at the code.
"""

from __future__ import annotations

from typing import Any

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_body(code: int, message: str, reason: str | None = None, details: dict | None = None) -> dict:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or REASONS.get(code, "InternalError" if code >= 500 else "BadRequest"),
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


class ApiError(Exception):
    """A Kubernetes API error answered as a Status."""

    def __init__(self, code: int, message: str, reason: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.body = status_body(code, message, reason, details)


def not_found(resource: str, name: str) -> ApiError:
    """``resource`` is ``plural.group`` (``deployments.apps``), as the API server names it."""
    kind, _, group = resource.partition(".")
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return ApiError(404, f'{resource} "{name}" not found', "NotFound", details)
