"""RBAC as the local Kubernetes API enforces it: the shipped manifests
(scripts/rbac) rendered and loaded, each group's decisions with the API
server's exact refusal, the request attributes RBAC sees, and manifests that
must not load."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi import rbac  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
READ = ("platform-failover-read", "system:authenticated")
RESTORE = ("platform-failover-restore", "system:authenticated")
NOBODY = ("system:authenticated",)
USER = "arn:aws:sts::123456789012:assumed-role/env-verify-recovery/env-verify-recovery"
NS = "/apis/apps/v1/namespaces/vcluster-platform"


@pytest.fixture(scope="module")
def shipped() -> rbac.Policy:
    return rbac.load("vcluster-platform", "loft")


def grants(policy: rbac.Policy) -> set[tuple]:
    return {(g.subject.name, g.namespace, g.verb, g.api_group, g.resource, g.name) for g in policy.grants}


# --- the shipped manifests -----------------------------------------------------


def test_the_shipped_manifests_grant_each_group_exactly_what_its_functions_call(shipped) -> None:
    read, restore, ns = "platform-failover-read", "platform-failover-restore", "vcluster-platform"
    assert grants(shipped) == {
        # diagnose (verify-recovery): the deployment, its pods, the nodes, the ingress
        (read, ns, "get", "apps", "deployments", "loft"),
        (read, ns, "list", "", "pods", None),
        (read, None, "list", "", "nodes", None),
        (read, ns, "get", "networking.k8s.io", "ingresses", "loft"),
        # the DERP peers (verify-recovery, check-derp-peers)
        (read, None, "list", "storage.loft.sh", "networkpeers", None),
        # restore-platform: its diagnosis, a rollout restart, a scale
        (restore, ns, "get", "apps", "deployments", "loft"),
        (restore, ns, "list", "", "pods", None),
        (restore, None, "list", "", "nodes", None),
        (restore, ns, "get", "networking.k8s.io", "ingresses", "loft"),
        (restore, ns, "patch", "apps", "deployments", "loft"),
        (restore, ns, "patch", "apps", "deployments/scale", "loft"),
    }
    assert [Path(s).name for s in shipped.sources] == ["platform-failover.yaml"]


def test_the_namespace_and_deployment_are_filled_in_not_hard_coded() -> None:
    policy = rbac.load("platform", "vcluster-platform.v2")
    assert {(g.namespace, g.name) for g in policy.grants if g.resource == "deployments"} == {
        ("platform", "vcluster-platform.v2")
    }
    # Unrendered, every namespace and every name is a placeholder.
    documents = list(yaml.safe_load_all((ROOT / "scripts/rbac/platform-failover.yaml").read_text()))
    namespaces = {d["metadata"].get("namespace") for d in documents} - {None}
    names = {n for d in documents for rule in d.get("rules", []) for n in rule.get("resourceNames", [])}
    assert (namespaces, names) == ({"${PLATFORM_NAMESPACE}"}, {"${PLATFORM_DEPLOYMENT}"})


def test_grant_eks_access_groups_are_the_ones_the_manifests_bind(shipped) -> None:
    script = (ROOT / "scripts/grant-eks-access").read_text()
    bound = {s.name for b in shipped.bindings for s in b.subjects}
    assert bound == {"platform-failover-read", "platform-failover-restore"}
    for group in bound:
        assert f"={group}\n" in script


# --- decisions -----------------------------------------------------------------


def forbidden(verb: str, resource: str, what: str, group: str, scope: str) -> str:
    return (
        f'{what} is forbidden: User "{USER}" cannot {verb} resource "{resource}" '
        f'in API group "{group}" {scope}'
    )


IN_NS = 'in the namespace "vcluster-platform"'
CLUSTER = "at the cluster scope"

DECISIONS = [
    # (groups, method, path, query, None = allowed | the exact 403 message)
    (READ, "GET", f"{NS}/deployments/loft", {}, None),
    (READ, "GET", "/api/v1/namespaces/vcluster-platform/pods", {"labelSelector": "app=loft"}, None),
    (READ, "GET", "/api/v1/nodes", {}, None),
    (READ, "GET", "/apis/networking.k8s.io/v1/namespaces/vcluster-platform/ingresses/loft", {}, None),
    (READ, "GET", "/apis/storage.loft.sh/v1/networkpeers", {}, None),
    (
        READ,
        "PATCH",
        f"{NS}/deployments/loft",
        {},
        forbidden("patch", "deployments", 'deployments.apps "loft"', "apps", IN_NS),
    ),
    (
        READ,
        "PATCH",
        f"{NS}/deployments/loft/scale",
        {},
        forbidden("patch", "deployments/scale", 'deployments.apps "loft"', "apps", IN_NS),
    ),
    (
        READ,
        "GET",
        f"{NS}/deployments/other",
        {},
        forbidden("get", "deployments", 'deployments.apps "other"', "apps", IN_NS),
    ),
    (
        READ,
        "GET",
        f"{NS}/deployments",
        {},
        forbidden("list", "deployments", "deployments.apps", "apps", IN_NS),
    ),
    (
        READ,
        "GET",
        f"{NS}/deployments",
        {"watch": "true"},
        forbidden("watch", "deployments", "deployments.apps", "apps", IN_NS),
    ),
    (
        READ,
        "GET",
        "/api/v1/namespaces/vcluster-platform/pods/loft-abc",
        {},
        forbidden("get", "pods", 'pods "loft-abc"', "", IN_NS),
    ),
    (
        READ,
        "GET",
        "/api/v1/namespaces/vcluster-platform/secrets",
        {},
        forbidden("list", "secrets", "secrets", "", IN_NS),
    ),
    (
        READ,
        "GET",
        "/api/v1/namespaces/default/pods",
        {},
        forbidden("list", "pods", "pods", "", 'in the namespace "default"'),
    ),
    (
        READ,
        "GET",
        "/apis/storage.loft.sh/v1/networkpeers/peer-1",
        {},
        forbidden("get", "networkpeers", 'networkpeers.storage.loft.sh "peer-1"', "storage.loft.sh", CLUSTER),
    ),
    (
        READ,
        "GET",
        "/api/v1/nodes/node-1",
        {},
        forbidden("get", "nodes", 'nodes "node-1"', "", CLUSTER),
    ),
    (RESTORE, "GET", f"{NS}/deployments/loft", {}, None),
    (RESTORE, "PATCH", f"{NS}/deployments/loft", {}, None),
    (RESTORE, "PATCH", f"{NS}/deployments/loft/scale", {}, None),
    (RESTORE, "GET", "/api/v1/nodes", {}, None),
    (
        RESTORE,
        "PATCH",
        f"{NS}/deployments/other",
        {},
        forbidden("patch", "deployments", 'deployments.apps "other"', "apps", IN_NS),
    ),
    (
        RESTORE,
        "PATCH",
        f"{NS}/deployments/other/scale",
        {},
        forbidden("patch", "deployments/scale", 'deployments.apps "other"', "apps", IN_NS),
    ),
    (
        RESTORE,
        "GET",
        f"{NS}/deployments/loft/scale",
        {},
        forbidden("get", "deployments/scale", 'deployments.apps "loft"', "apps", IN_NS),
    ),
    (
        RESTORE,
        "PUT",
        f"{NS}/deployments/loft",
        {},
        forbidden("update", "deployments", 'deployments.apps "loft"', "apps", IN_NS),
    ),
    (
        RESTORE,
        "DELETE",
        f"{NS}/deployments/loft",
        {},
        forbidden("delete", "deployments", 'deployments.apps "loft"', "apps", IN_NS),
    ),
    (
        RESTORE,
        "DELETE",
        f"{NS}/deployments",
        {},
        forbidden("deletecollection", "deployments", "deployments.apps", "apps", IN_NS),
    ),
    (
        RESTORE,
        "POST",
        f"{NS}/deployments",
        {},
        forbidden("create", "deployments", "deployments.apps", "apps", IN_NS),
    ),
    (
        RESTORE,
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/loft",
        {},
        forbidden("patch", "deployments", 'deployments.apps "loft"', "apps", 'in the namespace "default"'),
    ),
    (
        RESTORE,
        "PATCH",
        f"{NS}/statefulsets/loft",
        {},
        forbidden("patch", "statefulsets", 'statefulsets.apps "loft"', "apps", IN_NS),
    ),
    (
        RESTORE,
        "GET",
        "/apis/storage.loft.sh/v1/networkpeers",
        {},
        forbidden("list", "networkpeers", "networkpeers.storage.loft.sh", "storage.loft.sh", CLUSTER),
    ),
    (
        NOBODY,
        "GET",
        f"{NS}/deployments/loft",
        {},
        forbidden("get", "deployments", 'deployments.apps "loft"', "apps", IN_NS),
    ),
    (NOBODY, "GET", "/version", {}, f'forbidden: User "{USER}" cannot get path "/version"'),
]


@pytest.mark.parametrize(("groups", "method", "path", "query", "refusal"), DECISIONS)
def test_each_group_is_allowed_its_calls_and_refused_the_rest_as_the_api_server_words_it(
    shipped, groups, method, path, query, refusal
) -> None:
    attributes = rbac.request_attributes(method, path, query)
    decision = shipped.authorize(USER, groups, attributes)
    if refusal is None:
        assert decision.allowed, attributes
        assert decision.grants, "an allowed request names the grants that allowed it"
        assert all(shipped.grants[i].subject.name == groups[0] for i in decision.grants)
        return
    assert not decision.allowed, attributes
    body = rbac.forbidden(USER, attributes, decision.reason).body
    assert (body["code"], body["reason"], body["status"], body["kind"]) == (
        403,
        "Forbidden",
        "Failure",
        "Status",
    )
    assert body["message"] == refusal


def test_a_refusal_details_name_the_object_as_the_api_server_does(shipped) -> None:
    attributes = rbac.request_attributes("PATCH", f"{NS}/deployments/loft/scale", {})
    assert rbac.forbidden(USER, attributes).body["details"] == {
        "name": "loft",
        "group": "apps",
        "kind": "deployments",
    }
    pods = rbac.request_attributes("GET", "/api/v1/namespaces/vcluster-platform/pods", {})
    assert rbac.forbidden(USER, pods).body["details"] == {"kind": "pods"}


def test_a_user_name_is_quoted_and_sanitized_as_go_does() -> None:
    attributes = rbac.request_attributes("GET", "/api/v1/nodes", {})
    message = rbac.forbidden('a"b<c>&', attributes).body["message"]
    assert message == (
        'nodes is forbidden: User "a\\"b&lt;c&gt;&amp;" cannot list resource "nodes" '
        'in API group "" at the cluster scope'
    )


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        (
            "GET",
            f"{NS}/deployments/loft",
            {},
            ("get", "apps", "deployments", "", "loft", "vcluster-platform"),
        ),
        (
            "PATCH",
            f"{NS}/deployments/loft/scale",
            {},
            ("patch", "apps", "deployments", "scale", "loft", "vcluster-platform"),
        ),
        (
            "GET",
            "/api/v1/namespaces/vcluster-platform/pods",
            {"labelSelector": "app=loft"},
            ("list", "", "pods", "", "", "vcluster-platform"),
        ),
        ("GET", "/api/v1/nodes", {}, ("list", "", "nodes", "", "", "")),
        (
            "GET",
            "/api/v1/namespaces/vcluster-platform",
            {},
            ("get", "", "namespaces", "", "vcluster-platform", "vcluster-platform"),
        ),
        (
            "GET",
            "/api/v1/namespaces/x/pods",
            {"fieldSelector": "metadata.name=p"},
            ("list", "", "pods", "", "p", "x"),
        ),
        ("GET", "/api/v1/namespaces/x/pods", {"watch": "1"}, ("watch", "", "pods", "", "", "x")),
        ("DELETE", "/api/v1/namespaces/x/pods", {}, ("deletecollection", "", "pods", "", "", "x")),
        ("PUT", "/api/v1/namespaces/x/finalize", {}, ("update", "", "namespaces", "finalize", "x", "x")),
    ],
)
def test_request_attributes_are_what_the_api_servers_request_info_parser_derives(
    method, path, query, expected
) -> None:
    a = rbac.request_attributes(method, path, query)
    assert a.resource_request
    assert (a.verb, a.api_group, a.resource, a.subresource, a.name, a.namespace) == expected


@pytest.mark.parametrize("path", ["/version", "/api", "/apis/apps", "/healthz", "/"])
def test_paths_outside_the_resource_apis_are_non_resource_requests(path) -> None:
    a = rbac.request_attributes("GET", path, {})
    assert (a.resource_request, a.verb, a.path) == (False, "get", path)


# --- rule semantics, on manifests of a test's own --------------------------------


def policy_of(tmp_path: Path, text: str) -> rbac.Policy:
    (tmp_path / "test.yaml").write_text(text)
    return rbac.load("vcluster-platform", "loft", tmp_path)


CLUSTER_ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules: RULES
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: r}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: g}]
"""


@pytest.mark.parametrize(
    ("rules", "method", "path", "allowed"),
    [
        ('[{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]', "DELETE", f"{NS}/deployments/loft", True),
        (
            '[{apiGroups: [apps], resources: ["*/scale"], verbs: [patch]}]',
            "PATCH",
            f"{NS}/deployments/x/scale",
            True,
        ),
        (
            '[{apiGroups: [apps], resources: ["*/scale"], verbs: [patch]}]',
            "PATCH",
            f"{NS}/deployments/x",
            False,
        ),
        (
            "[{apiGroups: [apps], resources: [deployments], verbs: [patch]}]",
            "PATCH",
            f"{NS}/deployments/x/scale",
            False,
        ),
        (
            "[{apiGroups: [apps], resources: [deployments], verbs: [list], resourceNames: [loft]}]",
            "GET",
            f"{NS}/deployments",
            False,
        ),
        (
            '[{apiGroups: [""], resources: [deployments], verbs: [get]}]',
            "GET",
            f"{NS}/deployments/loft",
            False,
        ),
        ('[{nonResourceURLs: ["/healthz/*"], verbs: [get]}]', "GET", "/healthz/ready", True),
        ('[{nonResourceURLs: ["/healthz"], verbs: [get]}]', "GET", "/healthz/ready", False),
    ],
)
def test_wildcards_subresources_and_resource_names_match_as_rbac_does(
    tmp_path, rules, method, path, allowed
) -> None:
    policy = policy_of(tmp_path, CLUSTER_ROLE.replace("RULES", rules))
    decision = policy.authorize("u", ("g",), rbac.request_attributes(method, path, {}))
    assert decision.allowed is allowed


def test_a_role_binding_applies_in_its_namespace_only_and_a_user_subject_to_that_user(tmp_path) -> None:
    policy = policy_of(
        tmp_path,
        """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
""",
    )
    pods = lambda ns: rbac.request_attributes("GET", f"/api/v1/namespaces/{ns}/pods", {})  # noqa: E731
    assert policy.authorize("alice", (), pods("a")).allowed
    assert not policy.authorize("alice", (), pods("b")).allowed
    assert not policy.authorize("bob", (), pods("a")).allowed
    nodes = rbac.request_attributes("GET", "/api/v1/nodes", {})
    assert not policy.authorize("alice", (), nodes).allowed, "a RoleBinding never reaches the cluster scope"


# --- what must not load ----------------------------------------------------------


ROLE = """apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: ns}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [get]}]
"""


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("kind: Secret\napiVersion: v1\nmetadata: {name: s}\n", "kind 'Secret' is not RBAC"),
        (
            ROLE.replace("rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1beta1"),
            "apiVersion must be",
        ),
        (
            ROLE.replace("resources: [deployments]", "resources: [deployments], resourceName: [loft]"),
            "unknown field resourceName",
        ),
        (ROLE.replace(", namespace: ns", ""), "metadata.namespace is required for a Role"),
        (ROLE.replace("verbs: [get]", "verbs: []"), "verbs must not be empty"),
        (ROLE.replace("apiGroups: [apps], ", ""), "a rule needs apiGroups and resources"),
        (ROLE.replace("verbs: [get]", "verbs: get"), "verbs must be a list of strings"),
        (ROLE + "---\n" + ROLE, "Role ns/r is defined twice"),
        (
            ROLE.replace(
                "resources: [deployments], verbs: [get]", 'nonResourceURLs: ["/x"], verbs: [get]'
            ).replace("apiGroups: [apps], ", ""),
            "nonResourceURLs belong in a ClusterRole",
        ),
        (
            CLUSTER_ROLE.replace("RULES", "[]").replace("kind: ClusterRole, name: r", "kind: Role, name: r"),
            "a ClusterRoleBinding refers to a ClusterRole, not 'Role'",
        ),
        (
            CLUSTER_ROLE.replace("RULES", "[]").replace("kind: Group", "kind: Team"),
            "subject kind 'Team'",
        ),
        (
            CLUSTER_ROLE.replace("RULES", "[]").replace("name: r}\nsubjects", "name: s}\nsubjects"),
            "refers to ClusterRole s",
        ),
        ("a: [", "not valid YAML"),
        (
            ROLE.replace("namespace: ns", "namespace: ${PLATFORM_NAMESPACES}"),
            "unknown placeholder ${PLATFORM_NAMESPACES}",
        ),
    ],
)
def test_a_manifest_that_would_grant_something_else_than_it_says_does_not_load(tmp_path, text, says) -> None:
    with pytest.raises(rbac.RbacError) as caught:
        policy_of(tmp_path, text)
    assert says in str(caught.value)
    assert "test.yaml" in str(caught.value) or "refers to" in says


def test_an_empty_manifest_folder_is_an_error(tmp_path) -> None:
    with pytest.raises(rbac.RbacError, match="no RBAC manifest"):
        rbac.load("vcluster-platform", "loft", tmp_path)


@pytest.mark.parametrize(
    ("namespace", "deployment", "says"),
    [
        ("Vcluster", "loft", "namespace 'Vcluster' is not a DNS-1123 label"),
        ("a" * 64, "loft", "is not a DNS-1123 label"),
        ("ns", "loft_1", "deployment 'loft_1' is not a DNS-1123 subdomain"),
        ("ns", "", "deployment '' is not"),
    ],
)
def test_a_namespace_or_deployment_the_api_server_would_refuse_is_named(namespace, deployment, says) -> None:
    with pytest.raises(rbac.RbacError, match=None) as caught:
        rbac.render("", namespace, deployment)
    assert says in str(caught.value)


def test_both_bad_names_are_named_at_once() -> None:
    with pytest.raises(rbac.RbacError) as caught:
        rbac.render("", "Bad", "also_bad")
    assert "namespace 'Bad'" in str(caught.value) and "deployment 'also_bad'" in str(caught.value)


# --- what an allowed decision says, the bootstrap policy, one verb taken out -------


def test_an_allowed_decision_names_the_binding_as_the_rbac_authorizer_does(shipped) -> None:
    decision = shipped.authorize(USER, READ, rbac.request_attributes("GET", f"{NS}/deployments/loft", {}))
    assert decision.reason == (
        'RBAC: allowed by RoleBinding "platform-failover-read/vcluster-platform" '
        'of Role "platform-failover-read" to Group "platform-failover-read"'
    )
    nodes = shipped.authorize(USER, RESTORE, rbac.request_attributes("GET", "/api/v1/nodes", {}))
    assert nodes.reason == (
        'RBAC: allowed by ClusterRoleBinding "platform-failover-restore" '
        'of ClusterRole "platform-failover-restore" to Group "platform-failover-restore"'
    )


def test_cluster_role_bindings_are_visited_first_and_a_subject_is_named_by_its_kind(tmp_path) -> None:
    policy = policy_of(
        tmp_path,
        """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: in-a, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects:
  - {kind: ServiceAccount, name: sa, namespace: b}
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: everywhere}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
""",
    )
    pods = rbac.request_attributes("GET", "/api/v1/namespaces/a/pods", {})
    assert policy.authorize("system:serviceaccount:b:sa", (), pods).reason == (
        'RBAC: allowed by RoleBinding "in-a/a" of ClusterRole "reader" to ServiceAccount "sa/b"'
    )
    assert policy.authorize("alice", (), pods).reason.endswith('to User "alice"')
    # Listed after the RoleBinding, visited before it.
    both = policy.authorize("bob", ("x",), pods)
    assert (
        both.reason
        == 'RBAC: allowed by ClusterRoleBinding "everywhere" of ClusterRole "reader" to User "bob"'
    )
    assert policy.authorize("carol", (), pods) == rbac.Decision(False)


@pytest.mark.parametrize(
    ("method", "path", "groups", "allowed"),
    [
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", NOBODY, True),
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", NOBODY, True),
        ("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", NOBODY, False),
        ("GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", NOBODY, False),
        ("GET", "/version", NOBODY, True),
        ("GET", "/version", ("system:unauthenticated",), True),
        ("GET", "/apis", NOBODY, True),
        ("GET", "/apis", ("system:unauthenticated",), False),
        ("GET", "/metrics", NOBODY, False),
        ("GET", f"{NS}/deployments/loft", READ, False),
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", (), False),
    ],
)
def test_the_bootstrap_policy_grants_what_kubernetes_grants_everyone(method, path, groups, allowed) -> None:
    decision = rbac.bootstrap().authorize(USER, groups, rbac.request_attributes(method, path, {}))
    assert decision.allowed is allowed


def test_the_bootstrap_policy_is_none_of_the_manifests(shipped) -> None:
    assert rbac.bootstrap().sources == [rbac.BOOTSTRAP_SOURCE]
    assert {b.name for b in rbac.bootstrap().bindings} == {
        "system:basic-user",
        "system:discovery",
        "system:public-info-viewer",
    }
    assert not any(g.subject.name.startswith("system:") for g in shipped.grants)


def test_a_verb_taken_out_leaves_the_policy_it_came_from_as_it_was(shipped) -> None:
    scale = rbac.request_attributes("PATCH", f"{NS}/deployments/loft/scale", {})
    restart = rbac.request_attributes("PATCH", f"{NS}/deployments/loft", {})
    changed, removed = rbac.without_verb(
        shipped, "Role", "vcluster-platform", "platform-failover-restore", "patch", "deployments/scale"
    )
    assert [(r["rule"], r["verbs"]) for r in removed] == [(1, ["patch"])]
    assert not changed.authorize(USER, RESTORE, scale).allowed
    assert changed.authorize(USER, RESTORE, restart).allowed
    assert shipped.authorize(USER, RESTORE, scale).allowed, "the shipped policy is not changed"
    assert len(changed.grants) == len(shipped.grants) - 1
    assert changed.sources == shipped.sources


def test_a_cluster_role_is_found_without_a_namespace(shipped) -> None:
    changed, removed = rbac.without_verb(
        shipped, "ClusterRole", None, "platform-failover-read", "list", "nodes"
    )
    assert removed == [
        {
            "role": "ClusterRole platform-failover-read",
            "rule": 0,
            "apiGroups": [""],
            "resources": ["nodes"],
            "verbs": ["list"],
        }
    ]
    nodes = rbac.request_attributes("GET", "/api/v1/nodes", {})
    assert not changed.authorize(USER, READ, nodes).allowed
    assert changed.authorize(USER, RESTORE, nodes).allowed, "another group's role keeps it"
    assert rbac.role_json(changed.role("ClusterRole", None, "platform-failover-read")) == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "platform-failover-read"},
        "rules": [{"apiGroups": ["storage.loft.sh"], "resources": ["networkpeers"], "verbs": ["list"]}],
    }
