"""A deployment's status, as the deployment controller derives it from the pods.

Counts (zero ones omitted, as the API server does): replicas, updated (the
current template's hash), ready = available, unavailable. Conditions:
Available ``MinimumReplicasAvailable`` while at most ``maxUnavailable`` pods
are not ready, else ``MinimumReplicasUnavailable``; Progressing ``Unknown
DeploymentPaused`` while paused, ``True NewReplicaSetAvailable`` when every
wanted pod is updated and ready, else ``False ProgressDeadlineExceeded`` (the
emulator has no clock for the deadline: a rollout that is not done at once
never will be).
"""

from __future__ import annotations

import math
from typing import Any

from . import chart
from .clock import rfc3339, utcnow


def _percent_or_int(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        share = int(value[:-1]) * total / 100
        return math.ceil(share) if round_up else math.floor(share)
    return 0


def max_unavailable(spec: dict) -> int:
    """How many pods may be unready while the deployment still counts as Available."""
    strategy = spec.get("strategy") or {}
    replicas = spec.get("replicas", 1)
    if strategy.get("type", "RollingUpdate") != "RollingUpdate" or replicas == 0:
        return 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = _percent_or_int(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _percent_or_int(rolling.get("maxUnavailable", "25%"), replicas, False)
    # Kubernetes' own rule: both zero would deadlock a rollout, so one may be unavailable.
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return min(unavailable, replicas)


class Conditions:
    """The deployment's conditions, kept between syncs: lastTransitionTime
    moves only when a condition's status does, as the controller does."""

    def __init__(self) -> None:
        self._by_type: dict[str, dict] = {}

    def set(self, kind: str, status: str, reason: str, message: str) -> dict:
        stamp = rfc3339(utcnow())
        old = self._by_type.get(kind)
        if old is not None and old["status"] == status:
            if old["reason"] != reason or old["message"] != message:
                old.update(reason=reason, message=message, lastUpdateTime=stamp)
            return dict(old)
        condition = {
            "type": kind,
            "status": status,
            "lastUpdateTime": stamp,
            "lastTransitionTime": stamp,
            "reason": reason,
            "message": message,
        }
        self._by_type[kind] = condition
        return dict(condition)


def deployment_status(deployment: dict, pods: list[dict], rs_hash: str, conditions: Conditions) -> dict:
    spec = deployment["spec"]
    wanted = spec.get("replicas", 1)
    current = chart.template_hash(spec["template"])
    total = len(pods)
    updated = sum(1 for pod in pods if pod["hash"] == current)
    ready = sum(1 for pod in pods if pod["mode"] == "ready")
    status: dict[str, Any] = {"observedGeneration": deployment["metadata"]["generation"]}
    for key, value in (
        ("replicas", total),
        ("updatedReplicas", updated),
        ("readyReplicas", ready),
        ("availableReplicas", ready),
        ("unavailableReplicas", max(total - ready, 0)),
    ):
        if value:
            status[key] = value

    if ready >= wanted - max_unavailable(spec):
        available = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    else:
        available = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    replica_set = f"{chart.DEPLOYMENT}-{rs_hash}"
    if spec.get("paused"):
        progressing = ("Unknown", "DeploymentPaused", "Deployment is paused")
    elif updated == wanted and total == wanted and ready == wanted:
        progressing = (
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{replica_set}" has successfully progressed.',
        )
    else:
        progressing = (
            "False",
            "ProgressDeadlineExceeded",
            f'ReplicaSet "{replica_set}" has timed out progressing.',
        )
    status["conditions"] = [
        conditions.set("Available", *available),
        conditions.set("Progressing", *progressing),
    ]
    return status
