"""The vCluster Platform as its Helm chart installs it: names, the deployment
object, and the names Kubernetes derives from a pod template."""

from __future__ import annotations

import copy
import json
import secrets
import uuid
from typing import Any

from .clock import rfc3339, utcnow

NAMESPACE = "vcluster-platform"
DEPLOYMENT = "loft"
INGRESS = "loft"
CONTAINER = "manager"
SELECTOR = {"app": "loft"}
RELEASE_LABELS = {"app": "loft", "app.kubernetes.io/managed-by": "Helm", "release": "loft"}
HELM_ANNOTATIONS = {"meta.helm.sh/release-name": "loft", "meta.helm.sh/release-namespace": NAMESPACE}
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REVISION = "deployment.kubernetes.io/revision"

# Kubernetes' rand.SafeEncodeString alphabet (pod-template-hash, pod suffixes).
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

# What every pod of the chart runs with, on top of its containers.
POD_SPEC_DEFAULTS: dict[str, Any] = {
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 10,
    "dnsPolicy": "ClusterFirst",
    "serviceAccountName": "loft",
    "serviceAccount": "loft",
    "securityContext": {},
    "schedulerName": "default-scheduler",
}


def _fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def template_hash(template: dict) -> str:
    """pod-template-hash as Kubernetes spells it (FNV-32a, safe alphabet).

    Any change to the template, a restart annotation included, changes it:
    that is how the controller tells a rollout from a scale.
    """
    digits = str(_fnv32a(json.dumps(template, sort_keys=True).encode()))
    return "".join(ALPHABET[ord(c) % len(ALPHABET)] for c in digits)


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def manager_container(image: str) -> dict:
    return {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [
            {"name": "http", "containerPort": 8080, "protocol": "TCP"},
            {"name": "https", "containerPort": 10443, "protocol": "TCP"},
        ],
        "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "2Gi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }


def deployment(replicas: int, image: str, paused: bool, resource_version: str) -> dict:
    """The deployment's metadata and spec at revision 1 (status is the controller's)."""
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": dict(SELECTOR)},
        "template": {
            "metadata": {"labels": {"app": "loft", "release": "loft"}},
            "spec": {"containers": [manager_container(image)], **copy.deepcopy(POD_SPEC_DEFAULTS)},
        },
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }
    if paused:
        spec["paused"] = True
    return {
        "metadata": {
            "name": DEPLOYMENT,
            "namespace": NAMESPACE,
            "uid": str(uuid.uuid4()),
            "resourceVersion": resource_version,
            "generation": 1,
            "creationTimestamp": rfc3339(utcnow()),
            "labels": dict(RELEASE_LABELS),
            "annotations": {REVISION: "1", **HELM_ANNOTATIONS},
        },
        "spec": spec,
    }
