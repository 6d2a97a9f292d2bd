"""The objects the Kubernetes API answers, rendered from a ClusterState.

What the Rust adapter reads from them (``functions/kube/src/platform.rs``):
the deployment's ``spec.replicas``, ``spec.paused``, ``metadata.generation``
and ``status`` (ready / available / updated replicas, observedGeneration, the
Progressing reason); each pod's phase, Ready and PodScheduled conditions and
its containers' waiting reasons and restart counts; each node's Ready
condition; the ingress's load balancer hostnames; each NetworkPeer's
``status.online`` (omitted when false), ``lastSeen`` and ``homeDerpRegion``;
the version's ``major`` and ``minor`` (or ``gitVersion``); each container's
image. The rest is there so the objects look like what EKS answers.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from typing import Any

from . import chart
from .api_errors import not_found
from .clock import rfc3339, utcnow
from .controller import ClusterState
from .pods import render_pod


def render_deployment(state: ClusterState) -> dict:
    if state.deployment is None:
        raise not_found("deployments.apps", chart.DEPLOYMENT)
    body = {"apiVersion": "apps/v1", "kind": "Deployment"}
    body.update(copy.deepcopy(state.deployment))
    body["status"] = copy.deepcopy(state.status)
    return body


def render_scale(state: ClusterState) -> dict:
    if state.deployment is None:
        raise not_found("deployments.apps", chart.DEPLOYMENT)
    meta = state.deployment["metadata"]
    selector = ",".join(f"{k}={v}" for k, v in state.deployment["spec"]["selector"]["matchLabels"].items())
    replicas = state.deployment["spec"].get("replicas", 1)
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        # ScaleSpec.replicas is omitempty, ScaleStatus.replicas is not.
        "spec": {"replicas": replicas} if replicas else {},
        "status": {"replicas": state.status.get("replicas", 0), "selector": selector},
    }


_PRESSURE = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)
_READY = {"status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
_NOT_READY = {
    "status": "False",
    "reason": "KubeletNotReady",
    "message": "container runtime network not ready: NetworkReady=false "
    "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
}


# The patch level and build EKS reports with a minor; a scenario names only MAJOR.MINOR.
EKS_PATCH = 4
EKS_BUILD_DATE = "2024-12-12T21:17:36Z"
EKS_GO_VERSION = "go1.22.9"


def _major_minor(state: ClusterState) -> tuple[str, str]:
    major, minor = state.scenario["kubernetes_version"].split(".")
    return major, minor


def render_version(state: ClusterState) -> dict:
    """``GET /version`` as EKS answers it: the minor with a ``+``, the build ``-eks-``."""
    major, minor = _major_minor(state)
    build = _sha256(f"eks-{major}.{minor}")
    return {
        "major": major,
        "minor": f"{minor}+",
        "gitVersion": f"v{major}.{minor}.{EKS_PATCH}-eks-{build[:7]}",
        "gitCommit": build[:40],
        "gitTreeState": "clean",
        "buildDate": EKS_BUILD_DATE,
        "goVersion": EKS_GO_VERSION,
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def render_nodes(state: ClusterState) -> list[dict]:
    zones = [f"{state.region}{letter}" for letter in "abc"]
    return [
        render_node(state, name, ready, zones[index % 3])
        for index, (name, ready) in enumerate(state.node_names())
    ]


def render_node(state: ClusterState, name: str, ready: bool, zone: str) -> dict:
    stamp = rfc3339(state.born_at(f"node/{name}"))
    heartbeat = rfc3339(utcnow())
    address = name.split(".")[0][3:].replace("-", ".")
    instance = "i-0" + _sha256(name)[:16]
    major, minor = _major_minor(state)
    # Nodes run the control plane's minor (EKS upgrades them after it), an older patch.
    kubelet = f"v{major}.{minor}.0-eks-a737599"
    conditions = [
        {
            "type": kind,
            "status": "False",
            "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": stamp,
            "reason": reason,
            "message": message,
        }
        for kind, reason, message in _PRESSURE
    ]
    conditions.append(
        {
            "type": "Ready",
            "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": stamp,
            **(_READY if ready else _NOT_READY),
        }
    )
    spec: dict[str, Any] = {"providerID": f"aws:///{zone}/{instance}"}
    if not ready:
        spec["taints"] = [
            {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule", "timeAdded": stamp},
            {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": stamp},
        ]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": state.uid(f"node/{name}"),
            "resourceVersion": state.scenario_rv,
            "creationTimestamp": stamp,
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": name,
                "node.kubernetes.io/instance-type": "m6i.large",
                "topology.kubernetes.io/region": state.region,
                "topology.kubernetes.io/zone": zone,
                "eks.amazonaws.com/nodegroup": "platform",
                "eks.amazonaws.com/capacityType": "ON_DEMAND",
            },
        },
        "spec": spec,
        "status": {
            "capacity": {"cpu": "2", "memory": "7910364Ki", "pods": "29", "ephemeral-storage": "20959212Ki"},
            "allocatable": {
                "cpu": "1930m",
                "memory": "7220188Ki",
                "pods": "29",
                "ephemeral-storage": "18242267924",
            },
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": address},
                {"type": "InternalDNS", "address": name},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "machineID": _md5(name),
                "systemUUID": state.uid(f"node-system/{name}"),
                "bootID": state.uid(f"node-boot/{name}"),
                "kernelVersion": "6.1.112-124.190.amzn2023.x86_64",
                "osImage": "Amazon Linux 2023.6.20241031",
                "containerRuntimeVersion": "containerd://1.7.22",
                "kubeletVersion": kubelet,
                "kubeProxyVersion": kubelet,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def render_ingress(state: ClusterState, name: str) -> dict:
    wanted = state.scenario["ingress"]
    if name != chart.INGRESS or not wanted["exists"]:
        raise not_found("ingresses.networking.k8s.io", name)
    hostname = wanted.get("hostname")
    backend = {"service": {"name": "loft", "port": {"number": 80}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": chart.INGRESS,
            "namespace": chart.NAMESPACE,
            "uid": state.uid("ingress/loft"),
            "resourceVersion": state.scenario_rv,
            "generation": 1,
            "creationTimestamp": rfc3339(state.born_at("ingress/loft")),
            "labels": dict(chart.RELEASE_LABELS),
            "annotations": {
                "alb.ingress.kubernetes.io/scheme": "internet-facing",
                "alb.ingress.kubernetes.io/target-type": "ip",
                **chart.HELM_ANNOTATIONS,
            },
        },
        "spec": {
            "ingressClassName": "alb",
            "rules": [
                {
                    "host": f"platform.{state.region}.example.test",
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ],
        },
        "status": {"loadBalancer": {"ingress": [{"hostname": hostname}]} if hostname else {}},
    }


def render_peers(state: ClusterState) -> list[dict]:
    items = []
    for peer in state.scenario["peers"]:
        key = f"networkpeer/{peer['name']}"
        status: dict[str, Any] = {}
        # The CRD's online field is omitempty: an offline peer has none.
        if peer["online"]:
            status["online"] = True
        status["lastSeen"] = peer.get("lastSeen") or rfc3339(
            utcnow() if peer["online"] else utcnow() - dt.timedelta(minutes=10)
        )
        status["homeDerpRegion"] = peer["homeDerpRegion"]
        items.append(
            {
                "apiVersion": "storage.loft.sh/v1",
                "kind": "NetworkPeer",
                "metadata": {
                    "name": peer["name"],
                    "uid": state.uid(key),
                    "resourceVersion": state.scenario_rv,
                    "generation": 1,
                    "creationTimestamp": rfc3339(state.born_at(key)),
                },
                "spec": {},
                "status": status,
            }
        )
    return items


def summarize(state: ClusterState) -> dict:
    """The short view a person reads: the deployment's counts and each pod's reason."""
    pods = []
    for pod in state.pods:
        status = render_pod(state, pod)["status"]
        containers = status.get("containerStatuses") or []
        reason = None
        if containers and "waiting" in containers[0].get("state", {}):
            reason = containers[0]["state"]["waiting"]["reason"]
        elif status["phase"] == "Pending":
            reason = "Unschedulable"
        pods.append(
            {
                "name": pod["name"],
                "phase": status["phase"],
                "ready": pod["mode"] == "ready",
                "reason": reason,
                "mode": pod["mode"],
            }
        )
    if state.deployment is None:
        deployment = None
    else:
        meta, spec, status = state.deployment["metadata"], state.deployment["spec"], state.status
        deployment = {
            "generation": meta["generation"],
            "observedGeneration": status.get("observedGeneration", 0),
            "replicas": spec.get("replicas", 1),
            "paused": bool(spec.get("paused", False)),
            "image": (spec["template"]["spec"].get("containers") or [{}])[0].get("image"),
            "restartedAt": ((spec["template"].get("metadata") or {}).get("annotations") or {}).get(
                chart.RESTARTED_AT
            ),
            "readyReplicas": status.get("readyReplicas", 0),
            "updatedReplicas": status.get("updatedReplicas", 0),
            "conditions": {c["type"]: f"{c['status']} {c['reason']}" for c in status.get("conditions", [])},
        }
    return {"deployment": deployment, "pods": pods, "rollouts": state.rollouts}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _md5(text: str) -> str:
    # An id that looks like a machine id, not a security measure.
    return hashlib.md5(text.encode()).hexdigest()
