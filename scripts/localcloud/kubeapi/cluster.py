"""One EKS cluster's Kubernetes API: its objects, its HTTPS server, its test
hooks, and who may do what in it (access entries, RBAC)."""

from __future__ import annotations

import base64
import collections
import copy
import threading

from . import chart, rbac
from .access import AccessEntry, Caller, User, creator_entry
from .controller import ClusterState
from .faults import FaultQueue
from .pods import render_pod
from .render import render_deployment, summarize
from .server import KubeServer
from .tls import HOST, make_certificates, server_context

REQUEST_LOG_SIZE = 10000
_REFUSAL_KEYS = ("verb", "api_group", "resource", "name", "namespace", "path")


class KubeCluster:
    """Serves from construction on (a daemon thread) until ``stop``.

    ``lock`` guards ``state``, ``faults``, ``requests``, ``access_entries``,
    the RBAC policy and its counters: the server's threads and the admin API
    share them. The RBAC policy is the shipped manifests as they were when the
    cluster was created (a bad manifest fails the creation, naming what is
    wrong), changed only through the admin API (``remove_verb``,
    ``reload_rbac``); Kubernetes' bootstrap policy (``rbac.bootstrap``) is
    consulted after it and never changes.
    """

    def __init__(self, account: str, region: str, name: str):
        self.account = account
        self.region = region
        self.name = name
        self.lock = threading.RLock()
        self.policy = rbac.load(chart.NAMESPACE, chart.DEPLOYMENT)
        self.state = ClusterState(name, region)
        self.faults = FaultQueue()
        self.requests: collections.deque = collections.deque(maxlen=REQUEST_LOG_SIZE)
        creator = creator_entry()
        self.access_entries: dict[str, AccessEntry] = {creator.principal_arn: creator}
        # How many requests each grant of the policy allowed, and the refusals.
        self.grant_uses = [0] * len(self.policy.grants)
        self.refusals: collections.Counter = collections.Counter()
        # What the admin API took out of the shipped RBAC since it was last applied.
        self.rbac_changes: list[dict] = []

        ca_pem, cert_pem, key_pem = make_certificates()
        self.ca_pem = ca_pem
        self.ca_data = base64.b64encode(ca_pem).decode()
        self.server = KubeServer((HOST, 0), self, server_context(cert_pem, key_pem))
        self.port = self.server.server_address[1]
        self.endpoint = f"https://{HOST}:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"kube-{name}",
            daemon=True,
        )
        self.thread.start()

    @property
    def scenario(self) -> dict:
        return self.state.scenario

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def record(self, request: dict) -> None:
        with self.lock:
            self.requests.append(request)

    def user_of(self, caller: Caller) -> User | None:
        """The Kubernetes user of a caller's access entry; None: EKS refuses it (401)."""
        with self.lock:
            entry = self.access_entries.get(caller.principal_arn)
        return entry.user(caller) if entry is not None else None

    def put_access_entry(self, entry: AccessEntry) -> None:
        with self.lock:
            self.access_entries[entry.principal_arn] = entry

    def _decide(self, user: User, attributes: rbac.Attributes) -> tuple[rbac.Policy, rbac.Decision]:
        with self.lock:
            policy = self.policy
        if user.cluster_admin:
            return policy, rbac.Decision(True)
        decision = policy.authorize(user.name, user.groups, attributes)
        if not decision.allowed:
            builtin = rbac.bootstrap().authorize(user.name, user.groups, attributes)
            if builtin.allowed:
                # Its grants index another policy's: none of the manifests' was used.
                decision = rbac.Decision(True, (), builtin.reason)
        return policy, decision

    def authorize(self, user: User, attributes: rbac.Attributes) -> rbac.Decision:
        """RBAC's decision (cluster admin: always allowed), counted for ``rbac_report``."""
        policy, decision = self._decide(user, attributes)
        if user.cluster_admin:
            return decision
        with self.lock:
            # A policy replaced meanwhile has other grant indexes.
            if policy is self.policy:
                for index in decision.grants:
                    self.grant_uses[index] += 1
            if not decision.allowed:
                summary = attributes.as_json()
                self.refusals[(user.name, *(summary.get(k) for k in _REFUSAL_KEYS))] += 1
        return decision

    def review(self, user: User, attributes: rbac.Attributes) -> rbac.Decision:
        """The same decision for a SelfSubjectAccessReview: it asks, it neither
        uses a grant nor is refused, so nothing is counted."""
        return self._decide(user, attributes)[1]

    def _use_policy(self, policy: rbac.Policy) -> None:
        """Counts of the grants still there carry over."""
        uses: dict[rbac.Grant, int] = {}
        for grant, used in zip(self.policy.grants, self.grant_uses, strict=True):
            uses[grant] = uses.get(grant, 0) + used
        self.grant_uses = [uses.pop(grant, 0) for grant in policy.grants]
        self.policy = policy

    def remove_verb(
        self, kind: str, namespace: str | None, name: str, verb: str, resource: str | None
    ) -> dict:
        """Takes one verb out of one role (``rbac.without_verb``; RbacError names what is not there)."""
        with self.lock:
            policy, removed = rbac.without_verb(self.policy, kind, namespace, name, verb, resource)
            self._use_policy(policy)
            self.rbac_changes.extend(removed)
            role = policy.role(kind, namespace, name)
            assert role is not None
            return {"removed": removed, "role": rbac.role_json(role)}

    def reload_rbac(self) -> dict:
        """The shipped manifests as they are now, every change undone (RbacError: the old policy stays)."""
        policy = rbac.load(chart.NAMESPACE, chart.DEPLOYMENT)
        with self.lock:
            undone = len(self.rbac_changes)
            self._use_policy(policy)
            self.rbac_changes = []
        return {"manifests": list(policy.sources), "undone": undone}

    def rbac_report(self) -> dict:
        """Every grant of the policy with how many requests it allowed, and every refusal."""
        with self.lock:
            policy = self.policy
            changes = [dict(change) for change in self.rbac_changes]
            grants = [
                {**grant.as_json(), "used": self.grant_uses[index]}
                for index, grant in enumerate(policy.grants)
            ]
            refused = [
                {"user": key[0], **dict(zip(_REFUSAL_KEYS, key[1:], strict=True)), "count": count}
                for key, count in sorted(self.refusals.items(), key=lambda item: [str(v) for v in item[0]])
            ]
        return {
            "manifests": list(policy.sources),
            "namespace": chart.NAMESPACE,
            "deployment": chart.DEPLOYMENT,
            "grants": grants,
            "refused": refused,
            "changes": changes,
        }

    def entry(self) -> dict:
        """What ``GET /clusters`` lists, and what ``DescribeCluster`` needs."""
        return {
            "name": self.name,
            "region": self.region,
            "account": self.account,
            "endpoint": self.endpoint,
            "certificate_authority_data": self.ca_data,
            "cluster_status": self.state.scenario["cluster_status"],
        }

    def serves_platform(self) -> tuple[bool, str]:
        with self.lock:
            return self.state.serves_platform()

    def report(self) -> dict:
        """``GET /clusters/{name}/state``: everything a test may want to assert."""
        with self.lock:
            state = self.state
            return {
                "cluster": self.entry(),
                "scenario": copy.deepcopy(state.scenario),
                "summary": summarize(state),
                "deployment": render_deployment(state) if state.deployment is not None else None,
                "pods": [render_pod(state, pod) for pod in state.pods],
                "rollouts": state.rollouts,
                "faults": self.faults.pending(),
            }
