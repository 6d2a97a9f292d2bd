"""Pods rendered from a ClusterState: phase, conditions and container
statuses as the kubelet reports them in each mode of the scenario.

``ready``: Running, Ready. ``crashloop``: Running, not Ready, waiting
``CrashLoopBackOff`` with a restart count >= 5 and the last termination.
``imagepull`` / ``configerror``: Pending, waiting ``ImagePullBackOff`` /
``CreateContainerConfigError``. ``pending`` (or no node to run on): Pending,
PodScheduled False ``Unschedulable``, no container statuses.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from typing import Any

from . import chart
from .clock import rfc3339, utcnow
from .controller import ClusterState

_TOLERATIONS = [
    {
        "key": f"node.kubernetes.io/{taint}",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    }
    for taint in ("not-ready", "unreachable")
]
_NOT_READY = {
    "reason": "ContainersNotReady",
    "message": f"containers with unready status: [{chart.CONTAINER}]",
}


def render_pod(state: ClusterState, pod: dict) -> dict:
    containers = copy.deepcopy(pod["containers"]) or [
        {"name": chart.CONTAINER, "image": state.scenario["deployment"]["image"]}
    ]
    spec: dict[str, Any] = {
        "containers": containers,
        **copy.deepcopy(chart.POD_SPEC_DEFAULTS),
        "enableServiceLinks": True,
        "priority": 0,
        "preemptionPolicy": "PreemptLowerPriority",
        "tolerations": copy.deepcopy(_TOLERATIONS),
    }
    if pod["mode"] == "pending" or pod["node"] is None:
        status = _unschedulable_status(pod, sum(state.scenario["nodes"].values()))
    else:
        spec["nodeName"] = pod["node"]
        status = _scheduled_status(pod, containers)
    replica_set = f"{chart.DEPLOYMENT}-{pod['hash']}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod["name"],
            "generateName": f"{replica_set}-",
            "namespace": chart.NAMESPACE,
            "uid": pod["uid"],
            "resourceVersion": pod["rv"],
            "creationTimestamp": rfc3339(pod["created"]),
            "labels": dict(pod["labels"]),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": replica_set,
                    "uid": state.uid(f"replicaset/{pod['hash']}"),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
        "status": status,
    }


def _unschedulable_status(pod: dict, nodes: int) -> dict:
    return {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": None,
                "lastTransitionTime": rfc3339(pod["created"]),
                "reason": "Unschedulable",
                "message": f"0/{nodes} nodes are available: {nodes} Insufficient cpu. "
                f"preemption: 0/{nodes} nodes are available: "
                f"{nodes} No preemption victims found for incoming pod.",
            }
        ],
        "qosClass": "Burstable",
    }


def _condition(kind: str, ok: bool, when: str) -> dict:
    body = {
        "type": kind,
        "status": "True" if ok else "False",
        "lastProbeTime": None,
        "lastTransitionTime": when,
    }
    if not ok:
        body.update(_NOT_READY)
    return body


def _scheduled_status(pod: dict, containers: list[dict]) -> dict:
    mode = pod["mode"]
    ready = mode == "ready"
    stamp = rfc3339(pod["created"])
    started = pod["created"] + dt.timedelta(seconds=4)
    ready_stamp = rfc3339(started + dt.timedelta(seconds=6))
    node_ip = pod["node"].split(".")[0][3:].replace("-", ".")
    return {
        "phase": "Running" if mode in ("ready", "crashloop") else "Pending",
        "conditions": [
            _condition("PodReadyToStartContainers", True, rfc3339(started)),
            _condition("Initialized", True, stamp),
            _condition("Ready", ready, ready_stamp),
            _condition("ContainersReady", ready, ready_stamp),
            _condition("PodScheduled", True, stamp),
        ],
        "hostIP": node_ip,
        "hostIPs": [{"ip": node_ip}],
        "podIP": pod["ip"],
        "podIPs": [{"ip": pod["ip"]}],
        "startTime": stamp,
        "containerStatuses": [_container_status(pod, container, started) for container in containers],
        "qosClass": "Burstable",
    }


def _container_status(pod: dict, container: dict, started: dt.datetime) -> dict:
    mode = pod["mode"]
    name = container["name"]
    image = container.get("image", "")
    image_id = f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"
    container_id = "containerd://" + hashlib.sha256((pod["uid"] + name).encode()).hexdigest()
    entry: dict[str, Any] = {
        "name": name,
        "image": image,
        "imageID": "",
        "ready": mode == "ready",
        "restartCount": 0,
        "started": mode == "ready",
        "lastState": {},
    }
    if mode == "ready":
        entry.update(
            imageID=image_id, containerID=container_id, state={"running": {"startedAt": rfc3339(started)}}
        )
    elif mode == "crashloop":
        last_start = utcnow() - dt.timedelta(seconds=90)
        back_off = (
            f"back-off 5m0s restarting failed container={name} "
            f"pod={pod['name']}_{chart.NAMESPACE}({pod['uid']})"
        )
        entry.update(
            imageID=image_id,
            containerID=container_id,
            restartCount=pod["restarts"],
            started=False,
            state={"waiting": {"reason": "CrashLoopBackOff", "message": back_off}},
            lastState={
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": rfc3339(last_start),
                    "finishedAt": rfc3339(last_start + dt.timedelta(seconds=3)),
                    "containerID": container_id,
                }
            },
        )
    elif mode == "imagepull":
        entry["state"] = {
            "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
        }
    else:  # configerror
        entry["state"] = {
            "waiting": {"reason": "CreateContainerConfigError", "message": 'secret "loft-license" not found'}
        }
    return entry
