"""One cluster's objects and the deployment controller a test plays.

The controller acts when the Kubernetes API changes the deployment's
``spec.template`` (a rollout restart sets the annotation
``kubectl.kubernetes.io/restartedAt``) or ``spec.replicas`` (also through
``/scale``): all pods are replaced by ``spec.replicas`` new ones (new names)
in the next ``after_restart`` mode, ``scenario.pods`` becomes that mode, and
the status follows at once (``observedGeneration`` = ``generation``,
``updatedReplicas`` = replicas; see ``status``). A scale to 0 consumes no
``after_restart`` value. While ``spec.paused`` is true a template change is
not rolled out (Progressing ``DeploymentPaused``) until it is unpaused.
Changes made through the Kubernetes API show in ``scenario.deployment``.

Not thread-safe on its own: the cluster holds its lock around every use.
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import uuid

from . import chart
from .clock import utcnow
from .scenario import after_restart_modes, complete_scenario
from .status import Conditions, deployment_status


class ClusterState:
    """The scenario, the deployment and its pods, and the status that follows from them.

    A pod is kept as what it is made of (``name``, ``uid``, ``hash``,
    ``created``, ``mode``, ``node``, ``ip``, ``restarts``, ``labels``,
    ``containers``, ``rv``); ``render`` turns it into a Pod object.
    """

    def __init__(self, name: str, region: str):
        self.name = name
        self.region = region
        self._resource_version = 1000
        self._uids: dict[str, str] = {}
        self._born: dict[str, dt.datetime] = {}
        self.scenario = complete_scenario({}, name, region)
        self.start_over()

    # --- bookkeeping -----------------------------------------------------

    @property
    def resource_version(self) -> str:
        return str(self._resource_version)

    def next_rv(self) -> str:
        self._resource_version += 1
        return str(self._resource_version)

    def uid(self, key: str) -> str:
        """A uid that stays the same for one object across reads."""
        return self._uids.setdefault(key, str(uuid.uuid4()))

    def born_at(self, key: str) -> dt.datetime:
        """When an object was first read: its creationTimestamp from then on."""
        return self._born.setdefault(key, utcnow())

    def node_names(self) -> list[tuple[str, bool]]:
        """(name, ready) of every node, the ready ones first, named as EKS names them."""
        nodes = self.scenario["nodes"]
        suffix = "ec2.internal" if self.region == "us-east-1" else f"{self.region}.compute.internal"
        names = []
        for index in range(nodes["ready"] + nodes["not_ready"]):
            subnet = (index % 3) * 16 + 1
            host = 20 + (index * 37) % 230
            names.append((f"ip-10-0-{subnet}-{host}.{suffix}", index < nodes["ready"]))
        return names

    # --- the world from the scenario ------------------------------------

    def start_over(self) -> None:
        """A fresh deployment (generation 1) and fresh pods in mode ``scenario.pods``."""
        self.rollouts = 0
        self.after_index = 0
        self.revision = 1
        self.conditions = Conditions()
        # Nodes, the ingress and the peers are rendered from the scenario: they
        # change, and so their resourceVersion, only when the scenario does.
        self.scenario_rv = self.next_rv()
        self.deployment: dict | None = None
        self.pods: list[dict] = []
        self.rs_hash = ""
        if self.scenario["deployment"]["exists"]:
            self._create_deployment()
        self.sync_status()

    def _create_deployment(self) -> None:
        wanted = self.scenario["deployment"]
        self.revision = 1
        self.conditions = Conditions()
        self.deployment = chart.deployment(
            wanted["replicas"], wanted["image"], wanted["paused"], self.next_rv()
        )
        self.rs_hash = chart.template_hash(self.deployment["spec"]["template"])
        self.pods = self._new_pods(self.scenario["pods"])

    def _new_pods(self, mode: str, first: int = 0) -> list[dict]:
        """Pods ``first``..replicas-1 of the current template, in ``mode``."""
        if self.deployment is None:
            return []
        spec = self.deployment["spec"]
        template = spec["template"]
        nodes = [name for name, ready in self.node_names() if ready] or [n for n, _ in self.node_names()]
        created = utcnow()
        # A new pod never takes the name of a current one, not even of one it replaces.
        taken = {pod["name"] for pod in self.pods}
        labels = {**(template.get("metadata") or {}).get("labels", {}), "pod-template-hash": self.rs_hash}
        pods = []
        for index in range(first, spec.get("replicas", 1)):
            name = f"loft-{self.rs_hash}-{chart.random_suffix()}"
            while name in taken:
                name = f"loft-{self.rs_hash}-{chart.random_suffix()}"
            taken.add(name)
            pods.append(
                {
                    "name": name,
                    "uid": str(uuid.uuid4()),
                    "hash": self.rs_hash,
                    "created": created,
                    "mode": mode,
                    "node": nodes[index % len(nodes)] if nodes else None,
                    "ip": f"10.0.{(index % 3) * 16 + 2}.{(secrets.randbelow(200) + 20)}",
                    "restarts": 5 + index % 4,
                    "labels": dict(labels),
                    "containers": copy.deepcopy(template["spec"].get("containers", [])),
                    "rv": self.next_rv(),
                }
            )
        return pods

    def _take_after_restart(self) -> str:
        modes = after_restart_modes(self.scenario)
        mode = modes[min(self.after_index, len(modes) - 1)]
        self.after_index += 1
        return mode

    def _new_revision(self, new_hash: str) -> None:
        assert self.deployment is not None
        self.rs_hash = new_hash
        self.revision += 1
        self.deployment["metadata"].setdefault("annotations", {})[chart.REVISION] = str(self.revision)

    # --- the Kubernetes API's writes -------------------------------------

    def store_deployment(self, metadata: dict, spec: dict) -> None:
        """A deployment write the API admitted (identity fields already the stored ones)."""
        assert self.deployment is not None
        old_spec = self.deployment["spec"]
        spec_changed = spec != old_spec
        replicas_changed = spec.get("replicas", 1) != old_spec.get("replicas", 1)
        meta_changed = _without_rv(metadata) != _without_rv(self.deployment["metadata"])
        self.deployment = {"metadata": metadata, "spec": spec}
        if spec_changed:
            metadata["generation"] += 1
            self._roll_out(replicas_changed)
        if spec_changed or meta_changed:
            metadata["resourceVersion"] = self.next_rv()

    def _roll_out(self, replicas_changed: bool) -> None:
        """What the deployment controller does after a spec change."""
        assert self.deployment is not None
        spec = self.deployment["spec"]
        new_hash = chart.template_hash(spec["template"])
        rollout = new_hash != self.rs_hash and not spec.get("paused")
        if rollout or replicas_changed:
            if rollout:
                self._new_revision(new_hash)
            if spec.get("replicas", 1) > 0:
                mode = self._take_after_restart()
                self.scenario["pods"] = mode
            else:
                mode = self.scenario["pods"]
            self.pods = self._new_pods(mode)
            self.rollouts += 1
        self._scenario_from_spec()
        self.sync_status()

    def _scenario_from_spec(self) -> None:
        assert self.deployment is not None
        spec = self.deployment["spec"]
        containers = spec["template"]["spec"].get("containers") or [{}]
        wanted = self.scenario["deployment"]
        wanted["replicas"] = spec.get("replicas", 1)
        wanted["paused"] = bool(spec.get("paused", False))
        wanted["image"] = containers[0].get("image", wanted["image"])

    # --- the admin API's writes ------------------------------------------

    def apply_scenario(self, scenario: dict, replace: bool) -> None:
        """``replace``: start over from ``scenario``; else change only what it changes.

        A merged scenario re-labels the current pods (``pods``), changes the
        spec (``deployment``: a new ``image`` means new pods, ``exists``
        removes / recreates the deployment) and restarts the
        ``after_restart`` list when that changed.
        """
        old = self.scenario
        self.scenario = scenario
        if replace:
            self.start_over()
            return
        self.scenario_rv = self.next_rv()
        if scenario["after_restart"] != old["after_restart"]:
            self.after_index = 0
        wanted = scenario["deployment"]
        if not wanted["exists"]:
            self.deployment, self.pods, self.rs_hash, self.conditions = None, [], "", Conditions()
        elif self.deployment is None:
            self._create_deployment()
        else:
            self._spec_from_scenario()
        self.sync_status()

    def _spec_from_scenario(self) -> None:
        assert self.deployment is not None
        wanted = self.scenario["deployment"]
        mode = self.scenario["pods"]
        dep = self.deployment
        spec = dep["spec"]
        before = copy.deepcopy(spec)
        spec["replicas"] = wanted["replicas"]
        if wanted["paused"]:
            spec["paused"] = True
        else:
            spec.pop("paused", None)
        containers = spec["template"]["spec"].setdefault("containers", [{"name": chart.CONTAINER}])
        containers[0]["image"] = wanted["image"]
        if spec != before:
            dep["metadata"]["generation"] += 1
            dep["metadata"]["resourceVersion"] = self.next_rv()
        new_hash = chart.template_hash(spec["template"])
        if new_hash != self.rs_hash and not spec.get("paused"):
            self._new_revision(new_hash)
            self.pods = self._new_pods(mode)
        elif len(self.pods) != spec["replicas"]:
            self.pods = self.pods[: spec["replicas"]]
            self.pods += self._new_pods(mode, first=len(self.pods))
        for pod in self.pods:
            if pod["mode"] != mode:
                pod["mode"] = mode
                pod["rv"] = self.next_rv()

    # --- status ------------------------------------------------------------

    def sync_status(self) -> None:
        if self.deployment is None:
            self.status: dict = {}
        else:
            self.status = deployment_status(self.deployment, self.pods, self.rs_hash, self.conditions)

    def serves_platform(self) -> tuple[bool, str]:
        """Whether the platform answers from this cluster, and why (not).

        What a Route 53 health check of the region sees (the launcher's
        ``Platform`` health value): the cluster is ``ACTIVE``, the deployment
        exists and at least one of its pods is ready.
        """
        status = self.scenario["cluster_status"]
        if status != "ACTIVE":
            return False, f"cluster status {status}"
        if self.deployment is None:
            return False, f"no deployment {chart.DEPLOYMENT}"
        ready = sum(1 for pod in self.pods if pod["mode"] == "ready" and pod["node"] is not None)
        if ready == 0:
            modes = sorted({pod["mode"] for pod in self.pods})
            return False, f"no pod ready ({len(self.pods)} pods: {', '.join(modes) or 'none'})"
        return True, f"{ready} of {len(self.pods)} pods ready"


def _without_rv(metadata: dict) -> dict:
    return {k: v for k, v in metadata.items() if k != "resourceVersion"}
