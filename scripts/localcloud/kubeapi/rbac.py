"""Kubernetes RBAC as the API server evaluates it, over the shipped manifests.

The manifests are ``scripts/rbac/*.yaml``, the files
``scripts/grant-eks-access`` applies, with ``${PLATFORM_NAMESPACE}`` and
``${PLATFORM_DEPLOYMENT}`` filled in (``render``; here with the emulated
platform's namespace and deployment). ``load`` reads Roles, ClusterRoles,
RoleBindings and ClusterRoleBindings (``rbac.authorization.k8s.io/v1``) and
refuses anything else, naming the file, the document and the field: a typo
such as ``resourceName`` must not silently widen a grant.

``Policy.authorize`` decides a request the way the RBAC authorizer does: the
bindings of the request's namespace and the cluster bindings whose subjects
name the user or one of its groups; a RoleBinding's rules apply in its
namespace only, a ClusterRoleBinding's everywhere and at the cluster scope.
A rule matches when its verbs, apiGroups, resources (``deployments/scale``
for a subresource; ``*`` and ``*/scale`` as wildcards) and, if it has any,
resourceNames match; a request without a name (a list) never matches a rule
with resourceNames. ``forbidden`` is the API server's 403 for a refusal,
word for word.

An allowed decision's ``reason`` is the API server's
(``RBAC: allowed by RoleBinding "name/namespace" of Role "role" to Group
"group"``), naming the first binding RBAC visits that allows it: cluster
role bindings first, then the namespace's role bindings.

``Policy.grants`` lists every single permission the manifests give: one
verb on one resource (and name) to one subject through one binding, so a
test can show each one is used by the functions it was written for.
``request_attributes`` derives what RBAC sees (verb, API group, resource,
subresource, name, namespace) from the method and path as the API server's
request-info parser does.

``bootstrap`` is the part of Kubernetes' own default policy every EKS cluster
has and a caller of these APIs relies on: ``system:basic-user`` (create
SelfSubjectAccessReviews), ``system:discovery`` and
``system:public-info-viewer`` (``GET /version``), bound to
``system:authenticated``. It is a policy of its own, so that the shipped
manifests' grants and their use are reported alone.

``without_verb`` is a policy with one verb taken out of one role (every rule
of it, or the rules naming one resource): how a drill makes one permission
go missing in one cluster.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .api_errors import ApiError

MANIFESTS = Path(__file__).resolve().parents[3] / "scripts" / "rbac"
API_VERSION = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
PLACEHOLDERS = ("PLATFORM_NAMESPACE", "PLATFORM_DEPLOYMENT")

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_RULE_KEYS = {"apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"}
_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
# Paths under a namespace that are the namespace's own subresources, not resources in it.
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}


class RbacError(ValueError):
    """A manifest that cannot be loaded; the message names the file and what is wrong."""


def check_names(namespace: str, deployment: str) -> None:
    """What the API server accepts: a namespace is a DNS-1123 label, a deployment a subdomain."""
    problems = []
    if len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace):
        problems.append(
            f"namespace {namespace!r} is not a DNS-1123 label (lower-case letters, digits, '-'; at most 63)"
        )
    if len(deployment) > 253 or not _DNS_SUBDOMAIN.fullmatch(deployment):
        problems.append(
            f"deployment {deployment!r} is not a DNS-1123 subdomain "
            "(lower-case letters, digits, '-', '.'; at most 253)"
        )
    if problems:
        raise RbacError("; ".join(problems))


def render(text: str, namespace: str, deployment: str, source: str = "the manifest") -> str:
    """The manifest with its placeholders filled in; any other ``${...}`` is an error."""
    check_names(namespace, deployment)
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(PLACEHOLDERS))
    if unknown:
        raise RbacError(
            f"{source}: unknown placeholder {', '.join('${' + u + '}' for u in unknown)} "
            f"(known: {', '.join('${' + p + '}' for p in PLACEHOLDERS)})"
        )
    return text.replace("${PLATFORM_NAMESPACE}", namespace).replace("${PLATFORM_DEPLOYMENT}", deployment)


# --- the objects -------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...]
    non_resource_urls: tuple[str, ...]


@dataclass(frozen=True)
class Role:
    kind: str
    name: str
    namespace: str | None
    rules: tuple[Rule, ...]

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Subject:
    kind: str
    name: str
    namespace: str | None = None

    def applies_to(self, user: str, groups: tuple[str, ...]) -> bool:
        if self.kind == "Group":
            return self.name in groups
        if self.kind == "User":
            return self.name == user
        return user == f"system:serviceaccount:{self.namespace}:{self.name}"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Binding:
    kind: str
    name: str
    namespace: str | None
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Attributes:
    """What RBAC sees of a request."""

    verb: str
    path: str
    resource_request: bool
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""

    @property
    def combined_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    def as_json(self) -> dict[str, Any]:
        if not self.resource_request:
            return {"verb": self.verb, "path": self.path}
        return {
            "verb": self.verb,
            "api_group": self.api_group,
            "resource": self.combined_resource,
            "name": self.name or None,
            "namespace": self.namespace or None,
        }


@dataclass(frozen=True)
class Grant:
    """One verb on one resource (and name, or URL) to one subject through one binding."""

    subject: Subject
    binding: str
    role: str
    # Where it applies: a RoleBinding's namespace; None is everywhere and the cluster scope.
    namespace: str | None
    verb: str
    api_group: str | None = None
    resource: str | None = None
    name: str | None = None
    url: str | None = None

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "subject": {"kind": self.subject.kind, "name": self.subject.name},
            "binding": self.binding,
            "role": self.role,
            "namespace": self.namespace,
            "verb": self.verb,
        }
        if self.url is not None:
            entry["url"] = self.url
        else:
            entry.update(api_group=self.api_group, resource=self.resource, name=self.name)
        return entry


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # Indexes into Policy.grants of the grants that allowed the request.
    grants: tuple[int, ...] = ()
    # The API server's reason: what allowed it, or why a refusal is not a
    # plain "no rule matched" (a binding names a missing role).
    reason: str = ""


# --- matching, as the RBAC authorizer does -----------------------------------


def _verb_matches(verbs: tuple[str, ...], verb: str) -> bool:
    return "*" in verbs or verb in verbs


def _group_matches(groups: tuple[str, ...], group: str) -> bool:
    return "*" in groups or group in groups


def _resource_matches(resources: tuple[str, ...], combined: str, subresource: str) -> bool:
    for resource in resources:
        if resource in ("*", combined):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
    return False


def _name_matches(names: tuple[str, ...], name: str) -> bool:
    return not names or name in names


def _url_matches(urls: tuple[str, ...], path: str) -> bool:
    for url in urls:
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_matches(rule: Rule, attributes: Attributes) -> bool:
    if not _verb_matches(rule.verbs, attributes.verb):
        return False
    if not attributes.resource_request:
        return _url_matches(rule.non_resource_urls, attributes.path)
    return (
        _group_matches(rule.api_groups, attributes.api_group)
        and _resource_matches(rule.resources, attributes.combined_resource, attributes.subresource)
        and _name_matches(rule.resource_names, attributes.name)
    )


def _grant_matches(grant: Grant, attributes: Attributes) -> bool:
    rule = Rule(
        api_groups=(grant.api_group,) if grant.api_group is not None else (),
        resources=(grant.resource,) if grant.resource is not None else (),
        verbs=(grant.verb,),
        resource_names=(grant.name,) if grant.name is not None else (),
        non_resource_urls=(grant.url,) if grant.url is not None else (),
    )
    return rule_matches(rule, attributes)


@dataclass
class Policy:
    """The RBAC objects of one cluster (immutable once loaded)."""

    roles: dict[tuple[str, str | None, str], Role] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    # (binding, subject, rule) indexes -> indexes into grants
    _rule_grants: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)

    def role_of(self, binding: Binding) -> Role | None:
        namespace = binding.namespace if binding.role_kind == "Role" else None
        return self.roles.get((binding.role_kind, namespace, binding.role_name))

    def authorize(self, user: str, groups: tuple[str, ...], attributes: Attributes) -> Decision:
        allowed: list[int] = []
        errors: list[str] = []
        # The first allowing binding of each kind, for the reason RBAC gives.
        allowed_by: dict[str, str] = {}
        for b_index, binding in enumerate(self.bindings):
            if binding.kind == "RoleBinding" and binding.namespace != attributes.namespace:
                continue
            subjects = [
                (s_index, s) for s_index, s in enumerate(binding.subjects) if s.applies_to(user, groups)
            ]
            if not subjects:
                continue
            role = self.role_of(binding)
            if role is None:
                kind = "role" if binding.role_kind == "Role" else "clusterrole"
                errors.append(f'{kind}.{RBAC_GROUP} "{binding.role_name}" not found')
                continue
            for r_index, rule in enumerate(role.rules):
                if not rule_matches(rule, attributes):
                    continue
                allowed_by.setdefault(binding.kind, _describe(binding, subjects[0][1]))
                for s_index, _ in subjects:
                    for g_index in self._rule_grants.get((b_index, s_index, r_index), []):
                        if _grant_matches(self.grants[g_index], attributes):
                            allowed.append(g_index)
        if allowed_by:
            source = allowed_by.get("ClusterRoleBinding") or allowed_by["RoleBinding"]
            return Decision(True, tuple(sorted(set(allowed))), f"RBAC: allowed by {source}")
        return Decision(False, (), f"RBAC: {', '.join(errors)}" if errors else "")

    def role(self, kind: str, namespace: str | None, name: str) -> Role | None:
        return self.roles.get((kind, namespace if kind == "Role" else None, name))

    def _index(self) -> None:
        for b_index, binding in enumerate(self.bindings):
            role = self.role_of(binding)
            if role is None:
                continue
            namespace = binding.namespace if binding.kind == "RoleBinding" else None
            for s_index, subject in enumerate(binding.subjects):
                for r_index, rule in enumerate(role.rules):
                    indexes = self._rule_grants.setdefault((b_index, s_index, r_index), [])
                    for grant in _atoms(rule, subject, binding, role, namespace):
                        indexes.append(len(self.grants))
                        self.grants.append(grant)


def _describe(binding: Binding, subject: Subject) -> str:
    """The binding and subject as the RBAC authorizer's reason names them."""
    if subject.kind == "ServiceAccount":
        who = f"ServiceAccount {_go_quote(f'{subject.name}/{subject.namespace or binding.namespace}')}"
    else:
        who = f"{subject.kind} {_go_quote(subject.name)}"
    name = f"{binding.name}/{binding.namespace}" if binding.kind == "RoleBinding" else binding.name
    return f"{binding.kind} {_go_quote(name)} of {binding.role_kind} {_go_quote(binding.role_name)} to {who}"


def _atoms(rule: Rule, subject: Subject, binding: Binding, role: Role, namespace: str | None) -> list[Grant]:
    common = {"subject": subject, "binding": binding.label, "role": role.label, "namespace": namespace}
    if rule.non_resource_urls:
        pairs = itertools.product(rule.verbs, rule.non_resource_urls)
        return [Grant(verb=v, url=u, **common) for v, u in pairs]
    names: tuple[str | None, ...] = rule.resource_names or (None,)
    return [
        Grant(verb=v, api_group=g, resource=r, name=n, **common)
        for g, r, v, n in itertools.product(rule.api_groups, rule.resources, rule.verbs, names)
    ]


# --- loading -----------------------------------------------------------------


def _strings(value: Any, where: str, what: str, required: bool = False) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RbacError(f"{where}: {what} must be a list of strings")
    if required and not value:
        raise RbacError(f"{where}: {what} must not be empty")
    return tuple(value)


def _rule(raw: Any, where: str, cluster_role: bool) -> Rule:
    if not isinstance(raw, dict):
        raise RbacError(f"{where}: a rule must be a mapping")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        known = ", ".join(sorted(_RULE_KEYS))
        raise RbacError(f"{where}: unknown field {', '.join(unknown)} (a rule has {known})")
    verbs = _strings(raw.get("verbs"), where, "verbs", required=True)
    urls = _strings(raw.get("nonResourceURLs"), where, "nonResourceURLs")
    groups = _strings(raw.get("apiGroups"), where, "apiGroups")
    resources = _strings(raw.get("resources"), where, "resources")
    names = _strings(raw.get("resourceNames"), where, "resourceNames")
    if urls:
        if not cluster_role:
            raise RbacError(f"{where}: nonResourceURLs belong in a ClusterRole")
        if groups or resources or names:
            raise RbacError(f"{where}: a rule has either nonResourceURLs or apiGroups/resources, not both")
    elif not groups or not resources:
        raise RbacError(f"{where}: a rule needs apiGroups and resources (or nonResourceURLs)")
    return Rule(groups, resources, verbs, names, urls)


def _metadata(document: dict, where: str, namespaced: bool) -> tuple[str, str | None]:
    meta = document.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise RbacError(f"{where}: metadata.name is required")
    namespace = meta.get("namespace")
    if namespaced:
        if not isinstance(namespace, str) or not namespace:
            raise RbacError(f"{where}: metadata.namespace is required for a {document['kind']}")
    elif namespace is not None:
        raise RbacError(f"{where}: a {document['kind']} is cluster scoped (no metadata.namespace)")
    return meta["name"], namespace


def _subject(raw: Any, where: str) -> Subject:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise RbacError(f"{where}: a subject needs kind and name")
    kind = raw.get("kind")
    if kind in ("Group", "User"):
        if raw.get("apiGroup") != RBAC_GROUP:
            raise RbacError(f"{where}: a {kind} subject has apiGroup {RBAC_GROUP}")
        return Subject(kind, raw["name"])
    if kind == "ServiceAccount":
        if not isinstance(raw.get("namespace"), str) or not raw["namespace"]:
            raise RbacError(f"{where}: a ServiceAccount subject needs its namespace")
        return Subject(kind, raw["name"], raw["namespace"])
    raise RbacError(f"{where}: subject kind {kind!r} (Group, User or ServiceAccount)")


def _binding(document: dict, where: str) -> Binding:
    kind = document["kind"]
    name, namespace = _metadata(document, where, kind == "RoleBinding")
    ref = document.get("roleRef")
    if not isinstance(ref, dict) or ref.get("apiGroup") != RBAC_GROUP or not isinstance(ref.get("name"), str):
        raise RbacError(f"{where}: roleRef needs apiGroup {RBAC_GROUP}, kind and name")
    allowed = ("Role", "ClusterRole") if kind == "RoleBinding" else ("ClusterRole",)
    if ref.get("kind") not in allowed:
        raise RbacError(f"{where}: a {kind} refers to a {' or '.join(allowed)}, not {ref.get('kind')!r}")
    raw_subjects = document.get("subjects")
    if not isinstance(raw_subjects, list) or not raw_subjects:
        raise RbacError(f"{where}: subjects must be a non-empty list")
    subjects = tuple(_subject(s, f"{where} subjects[{i}]") for i, s in enumerate(raw_subjects))
    return Binding(kind, name, namespace, ref["kind"], ref["name"], subjects)


def _role(document: dict, where: str) -> Role:
    kind = document["kind"]
    name, namespace = _metadata(document, where, kind == "Role")
    raw_rules = document.get("rules")
    if not isinstance(raw_rules, list):
        raise RbacError(f"{where}: rules must be a list")
    rules = tuple(_rule(r, f"{where} rules[{i}]", kind == "ClusterRole") for i, r in enumerate(raw_rules))
    return Role(kind, name, namespace, rules)


def parse(text: str, source: str, policy: Policy) -> None:
    """Adds the objects of one rendered manifest to ``policy``."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise RbacError(f"{source}: not valid YAML: {exc}") from exc
    for number, document in enumerate(documents, start=1):
        if document is None:
            continue
        where = f"{source} document {number}"
        if not isinstance(document, dict):
            raise RbacError(f"{where}: not a Kubernetes object")
        kind = document.get("kind")
        if kind not in KINDS:
            raise RbacError(f"{where}: kind {kind!r} is not RBAC ({', '.join(KINDS)})")
        if document.get("apiVersion") != API_VERSION:
            raise RbacError(f"{where}: apiVersion must be {API_VERSION}")
        where = f"{where} ({kind} {(document.get('metadata') or {}).get('name')})"
        if kind in ("Role", "ClusterRole"):
            role = _role(document, where)
            key = (role.kind, role.namespace, role.name)
            if key in policy.roles:
                raise RbacError(f"{where}: {role.label} is defined twice")
            policy.roles[key] = role
        else:
            binding = _binding(document, where)
            if any(b.label == binding.label for b in policy.bindings):
                raise RbacError(f"{where}: {binding.label} is defined twice")
            policy.bindings.append(binding)


def load(namespace: str, deployment: str, directory: Path = MANIFESTS) -> Policy:
    """The policy of every ``*.yaml`` in ``directory``, rendered for this namespace and deployment."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise RbacError(f"no RBAC manifest (*.yaml) in {directory}")
    policy = Policy()
    for path in files:
        try:
            text = path.read_text()
        except OSError as exc:
            raise RbacError(f"{path}: cannot be read: {exc}") from exc
        parse(render(text, namespace, deployment, str(path)), str(path), policy)
        policy.sources.append(str(path))
    for binding in policy.bindings:
        if policy.role_of(binding) is None:
            raise RbacError(
                f"{binding.label} refers to {binding.role_kind} {binding.role_name}, "
                f"which no manifest in {directory} defines"
            )
    policy._index()
    return policy


# --- Kubernetes' own default policy ---------------------------------------------

BOOTSTRAP_SOURCE = "Kubernetes' bootstrap policy"
# As kube-apiserver creates them (plugin/pkg/auth/authorizer/rbac/bootstrappolicy),
# reduced to what a caller of this API meets.
_BOOTSTRAP = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:basic-user"}
rules:
  - apiGroups: [authorization.k8s.io]
    resources: [selfsubjectaccessreviews, selfsubjectrulesreviews]
    verbs: [create]
  - apiGroups: [authentication.k8s.io]
    resources: [selfsubjectreviews]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:basic-user"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:basic-user"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:authenticated"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:discovery"}
rules:
  - nonResourceURLs: [/api, /api/*, /apis, /apis/*, /healthz, /livez, /openapi, /openapi/*, /readyz,
                      /version, /version/]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:discovery"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:discovery"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:authenticated"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:public-info-viewer"}
rules:
  - nonResourceURLs: [/healthz, /livez, /readyz, /version, /version/]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:public-info-viewer"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:public-info-viewer"}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:authenticated"}
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:unauthenticated"}
"""


@functools.cache
def bootstrap() -> Policy:
    """The default policy every cluster has besides the shipped manifests (never changed)."""
    policy = Policy()
    parse(_BOOTSTRAP, BOOTSTRAP_SOURCE, policy)
    policy.sources.append(BOOTSTRAP_SOURCE)
    policy._index()
    return policy


# --- changing one role -----------------------------------------------------------


def rule_json(rule: Rule) -> dict[str, Any]:
    """A rule as the API server answers it (empty lists left out)."""
    fields = (
        ("apiGroups", rule.api_groups),
        ("resources", rule.resources),
        ("resourceNames", rule.resource_names),
        ("nonResourceURLs", rule.non_resource_urls),
        ("verbs", rule.verbs),
    )
    return {key: list(value) for key, value in fields if value or key == "verbs"}


def role_json(role: Role) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": role.name}
    if role.namespace:
        metadata["namespace"] = role.namespace
    return {
        "apiVersion": API_VERSION,
        "kind": role.kind,
        "metadata": metadata,
        "rules": [rule_json(rule) for rule in role.rules],
    }


def without_verb(
    policy: Policy, kind: str, namespace: str | None, name: str, verb: str, resource: str | None = None
) -> tuple[Policy, list[dict[str, Any]]]:
    """``policy`` with ``verb`` taken out of the rules of one role (those naming
    ``resource``, if given), and what was taken out: one entry per rule. A rule
    left with no verb is dropped, as the API server admits none. RbacError
    names what is not there."""
    role = policy.role(kind, namespace, name)
    label = Role(kind, name, namespace if kind == "Role" else None, ()).label
    if role is None:
        known = ", ".join(sorted(r.label for r in policy.roles.values())) or "none"
        raise RbacError(f"no {label} in the applied RBAC (roles: {known})")
    targets = [
        index
        for index, rule in enumerate(role.rules)
        if resource is None or resource in rule.resources or resource in rule.non_resource_urls
    ]
    if not targets:
        named = sorted({r for rule in role.rules for r in (*rule.resources, *rule.non_resource_urls)})
        raise RbacError(
            f"{label} has no rule on {resource!r} (its rules name: {', '.join(named) or 'nothing'})"
        )
    removed: list[dict[str, Any]] = []
    rules: list[Rule] = []
    for index, rule in enumerate(role.rules):
        if index not in targets or verb not in rule.verbs:
            rules.append(rule)
            continue
        removed.append({"role": label, "rule": index, **rule_json(rule), "verbs": [verb]})
        kept = tuple(v for v in rule.verbs if v != verb)
        if kept:
            rules.append(
                Rule(rule.api_groups, rule.resources, kept, rule.resource_names, rule.non_resource_urls)
            )
    if not removed:
        verbs = sorted({v for index in targets for v in role.rules[index].verbs})
        where = f" on {resource!r}" if resource is not None else ""
        raise RbacError(
            f"{label} does not grant verb {verb!r}{where} (its verbs{where}: {', '.join(verbs)}; "
            "a * is removed only as *)"
        )
    changed = Policy(roles=dict(policy.roles), bindings=list(policy.bindings), sources=list(policy.sources))
    changed.roles[(role.kind, role.namespace, role.name)] = Role(
        role.kind, role.name, role.namespace, tuple(rules)
    )
    changed._index()
    return changed, removed


# --- requests ----------------------------------------------------------------


def request_attributes(method: str, path: str, query: dict[str, str]) -> Attributes:
    """What RBAC sees of a request, as the API server's request-info parser derives it."""
    verb = _VERBS.get(method.upper(), method.lower())
    parts = [p for p in path.strip("/").split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return Attributes(verb=method.lower(), path=path, resource_request=False)
    if not rest:
        return Attributes(verb=method.lower(), path=path, resource_request=False)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if query.get("watch", "").lower() in ("1", "true") else "list"
        selector = query.get("fieldSelector", "")
        if selector.startswith("metadata.name=") and "," not in selector:
            name = selector[len("metadata.name=") :]
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(
        verb=verb,
        path=path,
        resource_request=True,
        api_group=group,
        api_version=version,
        resource=resource,
        subresource=subresource,
        name=name,
        namespace=namespace,
    )


def _sanitized(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def forbidden(user: str, attributes: Attributes, reason: str = "") -> ApiError:
    """The API server's answer to a request RBAC refuses."""
    who = f"User {_go_quote(user)} cannot {attributes.verb}"
    if not attributes.resource_request:
        message = f"{who} path {_go_quote(attributes.path)}"
    else:
        resource, group = _go_quote(attributes.combined_resource), _go_quote(attributes.api_group)
        what = f"resource {resource} in API group {group}"
        if attributes.namespace:
            message = f"{who} {what} in the namespace {_go_quote(attributes.namespace)}"
        else:
            message = f"{who} {what} at the cluster scope"
    message = _sanitized(message)
    if reason:
        message = f"{message}: {reason}"
    details: dict[str, Any] = {}
    if not attributes.resource_request:
        return ApiError(403, f"forbidden: {message}", "Forbidden", details)
    group = attributes.api_group
    qualified = f"{attributes.resource}.{group}" if group else attributes.resource
    if attributes.name:
        details["name"] = attributes.name
        text = f"{qualified} {_go_quote(attributes.name)} is forbidden: {message}"
    else:
        text = f"{qualified} is forbidden: {message}"
    if attributes.api_group:
        details["group"] = attributes.api_group
    details["kind"] = attributes.resource
    return ApiError(403, text, "Forbidden", details)


def _go_quote(text: str) -> str:
    """Go's %q of a plain string: double quotes, backslash and quote escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
