"""The scenario: what a test or drill says a cluster looks like.

Each cluster has a scenario (JSON); defaults in brackets:

``cluster_status`` ["ACTIVE"]
    what ``DescribeCluster`` answers as ``cluster.status``.
``kubernetes_version`` ["1.31"]
    the control plane's ``MAJOR.MINOR`` (a string of digits): what ``GET
    /version`` answers, as EKS does (``"minor": "31+"``, ``"gitVersion":
    "v1.31.4-eks-..."``), and the nodes' kubelet version.
``deployment`` {``exists`` [true], ``replicas`` [3], ``paused`` [false],
``image`` ["ghcr.io/loft-sh/vcluster-platform:4.8.0"]}
    the deployment's spec; ``exists: false`` answers 404
    (``deployments.apps "loft" not found``) and there are no pods.
``pods`` ["ready"]
    what the current pods look like: ``ready`` (Running, Ready),
    ``crashloop`` (Running, not ready, waiting ``CrashLoopBackOff``,
    restartCount >= 5), ``imagepull`` (Pending, waiting
    ``ImagePullBackOff``), ``configerror`` (Pending, waiting
    ``CreateContainerConfigError``), ``pending`` (Pending, PodScheduled False
    ``Unschedulable``, no node).
``after_restart`` ["ready"]
    what the pods look like after the controller acts: one mode, or a list
    used one per action (the last sticks).
``nodes`` {``ready`` [3], ``not_ready`` [0]}
``ingress`` {``exists`` [true], ``hostname``
["k8s-vclusterplatform-loft-1234567890.<region>.elb.amazonaws.com"]}
    ``"hostname": ""``: no load balancer (``status.loadBalancer: {}``).
``peers`` [[{"name": "<cluster>-peer-1", "online": true, "homeDerpRegion": 900}]]
    NetworkPeers; ``lastSeen`` optional (default: now when online, 10 minutes
    ago when not).

Changes made through the Kubernetes API show in ``deployment`` (see
``controller``).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

from .merge_patch import merge_patch

MODES = ("ready", "crashloop", "imagepull", "configerror", "pending")
CLUSTER_STATUSES = ("CREATING", "ACTIVE", "DELETING", "FAILED", "UPDATING", "PENDING")
MAX_NODES = 200
_DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_MAJOR_MINOR = re.compile(r"[1-9][0-9]{0,2}\.(0|[1-9][0-9]{0,2})")


class ScenarioError(ValueError):
    """A scenario value that is not allowed; the message names it."""


def default_scenario(cluster: str, region: str) -> dict:
    return {
        "cluster_status": "ACTIVE",
        "kubernetes_version": "1.31",
        "deployment": {
            "exists": True,
            "replicas": 3,
            "paused": False,
            "image": "ghcr.io/loft-sh/vcluster-platform:4.8.0",
        },
        "pods": "ready",
        "after_restart": "ready",
        "nodes": {"ready": 3, "not_ready": 0},
        "ingress": {
            "exists": True,
            "hostname": f"k8s-vclusterplatform-loft-1234567890.{region}.elb.amazonaws.com",
        },
        "peers": [{"name": f"{cluster}-peer-1", "online": True, "homeDerpRegion": 900}],
    }


def is_int(value: Any) -> bool:
    """An integer, not a boolean (JSON true is a Python int)."""
    return isinstance(value, int) and not isinstance(value, bool)


def after_restart_modes(scenario: dict) -> list[str]:
    after = scenario["after_restart"]
    return after if isinstance(after, list) else [after]


def complete_scenario(given: Any, cluster: str, region: str) -> dict:
    """Defaults filled in, every value checked (ScenarioError names the first bad one)."""
    if not isinstance(given, dict):
        raise ScenarioError("a scenario is a JSON object")
    defaults = default_scenario(cluster, region)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ScenarioError(f"unknown scenario keys: {', '.join(unknown)} (known: {', '.join(defaults)})")
    # peers is a list: it replaces the default list, it never merges into it.
    scenario = merge_patch(defaults, {k: v for k, v in given.items() if k != "peers"})
    if given.get("peers") is not None:
        scenario["peers"] = copy.deepcopy(given["peers"])

    if scenario["cluster_status"] not in CLUSTER_STATUSES:
        raise ScenarioError(f"cluster_status: one of {', '.join(CLUSTER_STATUSES)}")
    # A null, in a PUT as in a PATCH, is the default.
    version = scenario.setdefault("kubernetes_version", defaults["kubernetes_version"])
    # A string: as a JSON number 1.30 would arrive as 1.3.
    if not isinstance(version, str) or not _MAJOR_MINOR.fullmatch(version):
        raise ScenarioError(
            f'kubernetes_version: a string "MAJOR.MINOR" of digits, e.g. "1.31" (not {version!r})'
        )
    _check_deployment(scenario["deployment"], defaults["deployment"])
    if scenario["pods"] not in MODES:
        raise ScenarioError(f"pods: one of {', '.join(MODES)}")
    after = after_restart_modes(scenario)
    if not after or any(mode not in MODES for mode in after):
        raise ScenarioError(f"after_restart: one of {', '.join(MODES)}, or a non-empty list of them")
    _check_nodes(scenario["nodes"])
    _check_ingress(scenario["ingress"])
    _check_peers(scenario["peers"])
    return scenario


def patched_scenario(current: dict, patch: Any, cluster: str, region: str) -> dict:
    """``current`` with a JSON merge patch applied, then completed and checked."""
    if not isinstance(patch, dict):
        raise ScenarioError("a scenario patch is a JSON object")
    merged = merge_patch(current, {k: v for k, v in patch.items() if k != "peers"})
    if "peers" in patch:
        merged["peers"] = patch["peers"]
    return complete_scenario(merged, cluster, region)


def _check_deployment(deployment: Any, defaults: dict) -> None:
    if not isinstance(deployment, dict):
        raise ScenarioError("deployment: an object")
    extra = sorted(set(deployment) - set(defaults))
    if extra:
        raise ScenarioError(f"deployment: unknown keys {', '.join(extra)}")
    if not isinstance(deployment["exists"], bool):
        raise ScenarioError("deployment.exists: true or false")
    if not is_int(deployment["replicas"]) or deployment["replicas"] < 0:
        raise ScenarioError("deployment.replicas: an integer >= 0")
    if not isinstance(deployment["paused"], bool):
        raise ScenarioError("deployment.paused: true or false")
    if not isinstance(deployment["image"], str) or not deployment["image"]:
        raise ScenarioError("deployment.image: a non-empty string")


def _check_nodes(nodes: Any) -> None:
    if not isinstance(nodes, dict) or set(nodes) - {"ready", "not_ready"}:
        raise ScenarioError('nodes: {"ready": N, "not_ready": M}')
    for key in ("ready", "not_ready"):
        if not is_int(nodes[key]) or not 0 <= nodes[key] <= MAX_NODES:
            raise ScenarioError(f"nodes.{key}: an integer 0..{MAX_NODES}")


def _check_ingress(ingress: Any) -> None:
    if not isinstance(ingress, dict) or set(ingress) - {"exists", "hostname"}:
        raise ScenarioError('ingress: {"exists": bool, "hostname": string or null}')
    if not isinstance(ingress["exists"], bool):
        raise ScenarioError("ingress.exists: true or false")
    if not isinstance(ingress.get("hostname"), str):
        raise ScenarioError('ingress.hostname: a string ("" for no load balancer)')


def _check_peers(peers: Any) -> None:
    """Fills in ``online`` and ``homeDerpRegion`` where a peer leaves them out."""
    if not isinstance(peers, list):
        raise ScenarioError("peers: a list of {name, online, homeDerpRegion, lastSeen}")
    seen = set()
    for index, peer in enumerate(peers):
        where = f"peers[{index}]"
        if not isinstance(peer, dict) or set(peer) - {"name", "online", "homeDerpRegion", "lastSeen"}:
            raise ScenarioError(f"{where}: an object with name, online, homeDerpRegion, lastSeen")
        if not isinstance(peer.get("name"), str) or not _DNS_1123.fullmatch(peer["name"]):
            raise ScenarioError(f"{where}.name: a DNS-1123 name")
        if peer["name"] in seen:
            raise ScenarioError(f"{where}.name: {peer['name']} appears twice")
        seen.add(peer["name"])
        peer.setdefault("online", True)
        peer.setdefault("homeDerpRegion", 900)
        if not isinstance(peer["online"], bool):
            raise ScenarioError(f"{where}.online: true or false")
        if not is_int(peer["homeDerpRegion"]):
            raise ScenarioError(f"{where}.homeDerpRegion: an integer")
        if "lastSeen" in peer:
            try:
                dt.datetime.strptime(peer["lastSeen"], "%Y-%m-%dT%H:%M:%SZ")
            except (TypeError, ValueError) as exc:
                raise ScenarioError(f"{where}.lastSeen: RFC 3339 UTC, e.g. 2026-01-01T00:00:00Z") from exc
