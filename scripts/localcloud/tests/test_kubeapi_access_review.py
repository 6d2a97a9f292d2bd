"""What a readiness evaluation asks a cluster, over HTTPS as each function's
role: SelfSubjectAccessReviews decided by the RBAC that enforces the caller's
other requests (creating one needs no grant of scripts/rbac), ``GET /version``
from the scenario, the deployment's image; and the admin API taking one verb
out of one role of one cluster, then putting the manifests back."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi import REGISTRY, access, rbac, start_admin  # noqa: E402

ACCOUNT = "123456789012"
NS = "vcluster-platform"
DEPLOYMENT = f"/apis/apps/v1/namespaces/{NS}/deployments/loft"
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
READ, RESTORE = "platform-failover-read", "platform-failover-restore"
# Function -> the Kubernetes groups of its access entry (None: no entry at all).
FUNCTIONS = {
    "verify-recovery": [READ],
    "restore-platform": [RESTORE],
    "confirm-outage": [],
    "notify": None,
}


def allowed_by_role(group: str) -> str:
    return f'RBAC: allowed by RoleBinding "{group}/{NS}" of Role "{group}" to Group "{group}"'


def allowed_by_cluster_role(name: str, group: str) -> str:
    return f'RBAC: allowed by ClusterRoleBinding "{name}" of ClusterRole "{name}" to Group "{group}"'


def identity(function: str) -> tuple[str, access.Credential]:
    """A role session of function ``function`` (as moto's STS issues one)."""
    role = f"arn:aws:iam::{ACCOUNT}:role/env-{function}"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/env-{function}/env-{function}"
    key = f"ASIA{uuid.uuid4().hex[:12].upper()}"
    return key, access.Credential(
        secret=f"secret-of-{function}",
        session_token=f"token-of-{function}",
        expires_at=time.time() + 3600,
        caller=access.Caller(session, role, ACCOUNT, f"env-{function}"),
    )


@pytest.fixture
def sessions() -> Iterator[dict[str, access.Credential]]:
    issued = dict(identity(f) for f in FUNCTIONS)
    access.use_temporary_credentials(issued.get)
    yield issued
    access.use_temporary_credentials(None)


def key_of(sessions: dict[str, access.Credential], function: str) -> str:
    return next(k for k, c in sessions.items() if c.caller.arn.endswith(f"/env-{function}"))


@pytest.fixture
def cluster(sessions):
    name = f"kt-{uuid.uuid4().hex[:8]}"
    kube = REGISTRY.create(ACCOUNT, "us-east-1", name)
    for function, groups in FUNCTIONS.items():
        if groups is None:
            continue
        role = sessions[key_of(sessions, function)].caller.principal_arn
        kube.put_access_entry(access.access_entry_from({"principalArn": role, "kubernetesGroups": groups}))
    yield kube
    REGISTRY.remove(ACCOUNT, "us-east-1", name)


@pytest.fixture(scope="module")
def admin_port():
    server = start_admin("127.0.0.1", 0)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def token(cluster, key: str, secret: str, session_token: str | None) -> str:
    request = AWSRequest(
        method="GET",
        url="https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"x-k8s-aws-id": cluster.name},
    )
    SigV4QueryAuth(Credentials(key, secret, session_token), "sts", "us-east-1", expires=60).add_auth(request)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(request.url.encode()).decode().rstrip("=")


def call(
    cluster,
    sessions,
    caller: str | None,
    method: str,
    path: str,
    body=None,
    raw: bytes | None = None,
    content_type: str = "application/json",
):
    """(status, headers, JSON) of one request as ``caller``: a function, the
    local cloud's own user ("admin") or nobody (None: no token)."""
    context = ssl.create_default_context(cadata=cluster.ca_pem.decode())
    connection = http.client.HTTPSConnection("127.0.0.1", cluster.port, context=context, timeout=10)
    headers = {}
    if caller == "admin":
        headers["Authorization"] = f"Bearer {token(cluster, 'testing', 'testing', None)}"
    elif caller is not None:
        key = key_of(sessions, caller)
        credential = sessions[key]
        bearer = token(cluster, key, credential.secret, credential.session_token)
        headers["Authorization"] = f"Bearer {bearer}"
    if body is not None:
        raw = json.dumps(body).encode()
    if raw is not None:
        headers["Content-Type"] = content_type
    connection.request(method, path, body=raw, headers=headers)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return response.status, dict(response.getheaders()), answer


def review_of(attributes: dict, kind: str = "resourceAttributes") -> dict:
    """A review as k8s-openapi serializes one."""
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {kind: attributes},
    }


def ask(cluster, sessions, caller, attributes: dict, kind: str = "resourceAttributes") -> dict:
    code, _, answer = call(cluster, sessions, caller, "POST", REVIEWS, review_of(attributes, kind))
    assert code == 201, answer
    return answer["status"]


def admin(port: int, method: str, path: str, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    raw = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, body=raw, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return response.status, answer


def platform(verb: str, subresource: str | None = None, name: str = "loft") -> dict:
    attributes = {"namespace": NS, "verb": verb, "group": "apps", "resource": "deployments", "name": name}
    if subresource:
        attributes["subresource"] = subresource
    return attributes


# --- reviews ---------------------------------------------------------------------

SSAR_CREATE = {"verb": "create", "group": "authorization.k8s.io", "resource": "selfsubjectaccessreviews"}

REVIEWED = [
    # (caller, attributes, kind, allowed, reason)
    ("verify-recovery", platform("get"), "resourceAttributes", True, allowed_by_role(READ)),
    ("verify-recovery", platform("patch"), "resourceAttributes", False, None),
    ("verify-recovery", platform("patch", "scale"), "resourceAttributes", False, None),
    (
        "verify-recovery",
        {"verb": "list", "group": "storage.loft.sh", "resource": "networkpeers"},
        "resourceAttributes",
        True,
        allowed_by_cluster_role(READ, READ),
    ),
    # A name is no list: resourceNames never match a request without one.
    ("verify-recovery", {**platform("get"), "name": ""}, "resourceAttributes", False, None),
    ("restore-platform", platform("patch", "scale"), "resourceAttributes", True, allowed_by_role(RESTORE)),
    ("restore-platform", platform("patch"), "resourceAttributes", True, allowed_by_role(RESTORE)),
    ("restore-platform", platform("patch", name="other"), "resourceAttributes", False, None),
    ("restore-platform", {**platform("patch"), "namespace": "default"}, "resourceAttributes", False, None),
    (
        "restore-platform",
        {"verb": "list", "group": "storage.loft.sh", "resource": "networkpeers"},
        "resourceAttributes",
        False,
        None,
    ),
    ("confirm-outage", platform("get"), "resourceAttributes", False, None),
    (
        "confirm-outage",
        SSAR_CREATE,
        "resourceAttributes",
        True,
        allowed_by_cluster_role("system:basic-user", "system:authenticated"),
    ),
    (
        "confirm-outage",
        {"verb": "get", "path": "/version"},
        "nonResourceAttributes",
        True,
        allowed_by_cluster_role("system:discovery", "system:authenticated"),
    ),
    ("confirm-outage", {"verb": "get", "path": "/metrics"}, "nonResourceAttributes", False, None),
    ("verify-recovery", {"verb": "get", "path": "/metrics"}, "nonResourceAttributes", False, None),
    ("admin", platform("delete"), "resourceAttributes", True, None),
]


@pytest.mark.parametrize(("caller", "attributes", "kind", "allowed", "reason"), REVIEWED)
def test_a_review_is_decided_for_the_callers_own_groups_by_the_rbac_that_enforces_them(
    cluster, sessions, caller, attributes, kind, allowed, reason
) -> None:
    status = ask(cluster, sessions, caller, attributes, kind)
    expected = {"allowed": allowed}
    if reason:
        expected["reason"] = reason
    assert status == expected


@pytest.mark.parametrize(
    ("caller", "path", "attributes"),
    [
        ("verify-recovery", DEPLOYMENT, platform("get")),
        ("verify-recovery", DEPLOYMENT, platform("patch")),
        ("restore-platform", DEPLOYMENT + "/scale", platform("patch", "scale")),
        ("restore-platform", DEPLOYMENT.replace("/loft", "/other"), platform("patch", name="other")),
    ],
)
def test_a_review_answers_what_the_request_itself_then_meets(cluster, sessions, caller, path, attributes):
    status = ask(cluster, sessions, caller, attributes)
    method = "GET" if attributes["verb"] == "get" else "PATCH"
    body = None if method == "GET" else {"spec": {"replicas": 3}}
    code, _, _ = call(
        cluster, sessions, caller, method, path, body, content_type="application/merge-patch+json"
    )
    assert (code != 403) is status["allowed"], (code, status)


def test_the_review_is_answered_as_the_api_server_answers_it(cluster, sessions) -> None:
    asked = {**platform("patch", "scale"), "version": "v1"}
    code, headers, answer = call(cluster, sessions, "restore-platform", "POST", REVIEWS, review_of(asked))
    assert code == 201
    assert headers["Content-Type"] == "application/json"
    assert "Warning" not in headers
    assert answer == {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {
            "resourceAttributes": {
                "namespace": NS,
                "verb": "patch",
                "group": "apps",
                "version": "v1",
                "resource": "deployments",
                "subresource": "scale",
                "name": "loft",
            }
        },
        "status": {"allowed": True, "reason": allowed_by_role(RESTORE)},
    }


def test_the_core_group_may_be_left_out_and_empty_strings_are_not_echoed(cluster, sessions) -> None:
    asked = {"namespace": NS, "verb": "list", "resource": "pods", "subresource": "", "name": None}
    code, _, answer = call(cluster, sessions, "verify-recovery", "POST", REVIEWS, review_of(asked))
    assert code == 201
    assert answer["spec"] == {"resourceAttributes": {"namespace": NS, "verb": "list", "resource": "pods"}}
    assert answer["status"] == {"allowed": True, "reason": allowed_by_role(READ)}


def test_creating_a_review_needs_no_grant_and_a_review_is_no_use_nor_refusal(
    admin_port, cluster, sessions
) -> None:
    for caller in ("verify-recovery", "restore-platform", "confirm-outage"):
        ask(cluster, sessions, caller, platform("get"))
        ask(cluster, sessions, caller, platform("delete"))
    created = [r for r in cluster.requests if r["path"] == REVIEWS]
    assert [r["status"] for r in created] == [201] * 6
    assert {json.dumps(r["authorization"], sort_keys=True) for r in created} == {
        json.dumps(
            {
                "verb": "create",
                "api_group": "authorization.k8s.io",
                "resource": "selfsubjectaccessreviews",
                "name": None,
                "namespace": None,
                "allowed": True,
                "by": "RBAC",
            },
            sort_keys=True,
        )
    }
    assert created[0]["body"] == review_of(platform("get"))
    _, report = admin(admin_port, "GET", f"/clusters/{cluster.name}/rbac")
    assert [g for g in report["grants"] if g["used"]] == []
    assert report["refused"] == []
    assert not any("system:" in g["subject"]["name"] for g in report["grants"]), (
        "the bootstrap policy is apart"
    )


def test_a_caller_without_an_access_entry_is_unauthorized_and_one_without_a_token_too(cluster, sessions):
    for caller in ("notify", None):
        code, _, answer = call(cluster, sessions, caller, "POST", REVIEWS, review_of(platform("get")))
        assert (code, answer["reason"]) == (401, "Unauthorized")


NO_ATTRIBUTES = (
    'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: '
    'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified'
)


@pytest.mark.parametrize(
    ("body", "raw", "content_type", "code", "reason", "message"),
    [
        (
            {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview"},
            None,
            None,
            422,
            "Invalid",
            NO_ATTRIBUTES,
        ),
        ({"spec": {}}, None, None, 422, "Invalid", NO_ATTRIBUTES),
        ({"spec": {"resourceAttributes": None}}, None, None, 422, "Invalid", NO_ATTRIBUTES),
        (
            {"spec": {"resourceAttributes": {"verb": "get"}, "nonResourceAttributes": {"path": "/version"}}},
            None,
            None,
            422,
            "Invalid",
            'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: '
            'Invalid value: authorization.NonResourceAttributes{Path:"/version", Verb:""}: '
            "cannot be specified in combination with resourceAttributes",
        ),
        (
            {"metadata": {"name": "mine"}, "spec": {"resourceAttributes": {"verb": "get"}}},
            None,
            None,
            422,
            "Invalid",
            'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: metadata: '
            'Invalid value: {"name":"mine"}: must be empty',
        ),
        (
            {"spec": {"resourceAttributes": {"verb": 5}}},
            None,
            None,
            400,
            "BadRequest",
            'SelfSubjectAccessReview in version "v1" cannot be handled as a SelfSubjectAccessReview: '
            "json: cannot unmarshal number into Go struct field "
            "ResourceAttributes.spec.resourceAttributes.verb of type string",
        ),
        (
            {"spec": {"resourceAttributes": ["get"]}},
            None,
            None,
            400,
            "BadRequest",
            'SelfSubjectAccessReview in version "v1" cannot be handled as a SelfSubjectAccessReview: '
            "json: cannot unmarshal array into Go struct field "
            "SelfSubjectAccessReviewSpec.spec.resourceAttributes of type v1.ResourceAttributes",
        ),
        (
            {"spec": "get deployments"},
            None,
            None,
            400,
            "BadRequest",
            'SelfSubjectAccessReview in version "v1" cannot be handled as a SelfSubjectAccessReview: '
            "json: cannot unmarshal string into Go struct field "
            "SelfSubjectAccessReview.spec of type v1.SelfSubjectAccessReviewSpec",
        ),
        (
            ["spec"],
            None,
            None,
            400,
            "BadRequest",
            'SelfSubjectAccessReview in version "v1" cannot be handled as a SelfSubjectAccessReview: '
            "json: cannot unmarshal array into Go value of type v1.SelfSubjectAccessReview",
        ),
        (None, b"{not json", None, 400, "BadRequest", "couldn't get version/kind; json parse error: "),
        (
            None,
            b"",
            None,
            400,
            "BadRequest",
            "couldn't get version/kind; json parse error: unexpected end of JSON input",
        ),
        (
            {**review_of(platform("get")), "apiVersion": "authorization.k8s.io/v1beta1"},
            None,
            None,
            400,
            "BadRequest",
            "the API version in the data (authorization.k8s.io/v1beta1) does not match "
            "the expected API version (authorization.k8s.io/v1)",
        ),
        (
            {**review_of(platform("get")), "kind": "SubjectAccessReview"},
            None,
            None,
            400,
            "BadRequest",
            "not a SelfSubjectAccessReview: the data is a SubjectAccessReview",
        ),
        (
            review_of(platform("get")),
            None,
            "application/merge-patch+json",
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format (application/merge-patch+json) "
            "- accepted media types include: application/json",
        ),
    ],
)
def test_a_malformed_review_is_refused_as_the_api_server_refuses_it(
    cluster, sessions, body, raw, content_type, code, reason, message
) -> None:
    answer_code, _, answer = call(
        cluster,
        sessions,
        "verify-recovery",
        "POST",
        REVIEWS,
        body,
        raw=raw,
        content_type=content_type or "application/json",
    )
    assert (answer_code, answer["kind"], answer["reason"], answer["code"]) == (code, "Status", reason, code)
    assert answer["message"].startswith(message)
    if code == 422:
        (cause,) = answer["details"]["causes"]
        assert answer["details"]["kind"] == "SelfSubjectAccessReview"
        assert answer["message"].endswith(f"{cause['field']}: {cause['message']}")


def test_an_empty_body_with_no_content_type_is_read_as_json(cluster, sessions) -> None:
    context = ssl.create_default_context(cadata=cluster.ca_pem.decode())
    connection = http.client.HTTPSConnection("127.0.0.1", cluster.port, context=context, timeout=10)
    key = key_of(sessions, "verify-recovery")
    credential = sessions[key]
    bearer = token(cluster, key, credential.secret, credential.session_token)
    raw = json.dumps(review_of(platform("get"))).encode()
    connection.request("POST", REVIEWS, body=raw, headers={"Authorization": f"Bearer {bearer}"})
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())["status"]["allowed"]) == (201, True)


def test_an_unknown_field_is_dropped_with_a_warning_as_without_field_validation(cluster, sessions) -> None:
    asked = {**platform("patch"), "subResource": "scale"}
    code, headers, answer = call(cluster, sessions, "verify-recovery", "POST", REVIEWS, review_of(asked))
    assert code == 201
    assert headers["Warning"] == '299 - "unknown field \\"spec.resourceAttributes.subResource\\""'
    assert "subResource" not in answer["spec"]["resourceAttributes"]
    assert answer["status"] == {"allowed": False}


@pytest.mark.parametrize(
    ("method", "path", "code", "reason"),
    [
        # RBAC comes first: reviews are created, never listed.
        ("GET", REVIEWS, 403, "Forbidden"),
        # Allowed (basic-user names no review), but no review has a name.
        ("POST", REVIEWS + "/mine", 404, "NotFound"),
        ("POST", REVIEWS + "?dryRun=All", 400, "BadRequest"),
    ],
)
def test_reviews_are_only_created(cluster, sessions, method, path, code, reason) -> None:
    body = review_of(platform("get")) if method == "POST" else None
    answer_code, _, answer = call(cluster, sessions, "verify-recovery", method, path, body)
    assert (answer_code, answer["reason"]) == (code, reason)


# --- the version and the image ----------------------------------------------------


def test_the_version_is_what_eks_answers_and_every_authenticated_caller_may_read_it(
    admin_port, cluster, sessions
) -> None:
    answers = [call(cluster, sessions, c, "GET", "/version") for c in ("verify-recovery", "confirm-outage")]
    assert [a[0] for a in answers] == [200, 200]
    version = answers[0][2]
    assert version == answers[1][2]
    assert set(version) == {
        "major",
        "minor",
        "gitVersion",
        "gitCommit",
        "gitTreeState",
        "buildDate",
        "goVersion",
        "compiler",
        "platform",
    }
    assert (version["major"], version["minor"]) == ("1", "31+")
    assert (
        version["gitVersion"].startswith("v1.31.4-eks-")
        and len(version["gitVersion"]) == len("v1.31.4-eks-") + 7
    )
    assert (version["platform"], version["compiler"], version["gitTreeState"]) == (
        "linux/amd64",
        "gc",
        "clean",
    )
    assert call(cluster, sessions, "verify-recovery", "GET", "/version/")[2] == version
    assert call(cluster, sessions, None, "GET", "/version")[0] == 401
    _, report = admin(admin_port, "GET", f"/clusters/{cluster.name}/rbac")
    assert [g for g in report["grants"] if g["used"]] == [] and report["refused"] == []


def test_the_scenario_sets_the_version_and_the_nodes_follow(admin_port, cluster, sessions) -> None:
    code, state = admin(
        admin_port, "PATCH", f"/clusters/{cluster.name}/scenario", {"kubernetes_version": "1.29"}
    )
    assert (code, state["scenario"]["kubernetes_version"]) == (200, "1.29")
    _, _, version = call(cluster, sessions, "verify-recovery", "GET", "/version")
    assert (version["major"], version["minor"]) == ("1", "29+")
    assert version["gitVersion"].startswith("v1.29.4-eks-")
    _, _, nodes = call(cluster, sessions, "verify-recovery", "GET", "/api/v1/nodes")
    kubelets = {n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes["items"]}
    assert kubelets == {"v1.29.0-eks-a737599"}
    # A scenario PUT starts over from the defaults.
    admin(admin_port, "PUT", f"/clusters/{cluster.name}/scenario", {})
    assert call(cluster, sessions, "verify-recovery", "GET", "/version")[2]["minor"] == "31+"


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("bad", ["1.31.4", "v1.31", "1", "1.x", "01.31", "", 1.31, ["1", "31"]])
def test_a_bad_kubernetes_version_is_refused_naming_the_key(admin_port, cluster, method, bad) -> None:
    admin(admin_port, "PATCH", f"/clusters/{cluster.name}/scenario", {"kubernetes_version": "1.30"})
    code, answer = admin(
        admin_port, method, f"/clusters/{cluster.name}/scenario", {"kubernetes_version": bad}
    )
    assert code == 400 and answer["error"].startswith('kubernetes_version: a string "MAJOR.MINOR" of digits')
    assert cluster.state.scenario["kubernetes_version"] == "1.30", "a refused scenario changes nothing"


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_a_null_kubernetes_version_is_the_default(admin_port, cluster, method) -> None:
    admin(admin_port, "PATCH", f"/clusters/{cluster.name}/scenario", {"kubernetes_version": "1.30"})
    code, state = admin(
        admin_port, method, f"/clusters/{cluster.name}/scenario", {"kubernetes_version": None}
    )
    assert (code, state["scenario"]["kubernetes_version"]) == (200, "1.31")


def test_the_served_deployment_carries_the_scenarios_image(admin_port, cluster, sessions) -> None:
    def served_images() -> list[str]:
        _, _, deployment = call(cluster, sessions, "verify-recovery", "GET", DEPLOYMENT)
        return [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]

    assert served_images() == ["ghcr.io/loft-sh/vcluster-platform:4.8.0"]
    image = "registry.example.test/loft-sh/vcluster-platform:4.9.1"
    admin(admin_port, "PATCH", f"/clusters/{cluster.name}/scenario", {"deployment": {"image": image}})
    assert served_images() == [image]
    other = "registry.example.test/loft-sh/vcluster-platform@sha256:" + "0" * 64
    admin(admin_port, "PUT", f"/clusters/{cluster.name}/scenario", {"deployment": {"image": other}})
    assert served_images() == [other]


# --- one verb missing in one cluster ---------------------------------------------------

ROLES = f"/rbac/roles/{NS}"


def test_one_verb_taken_out_of_one_rule_refuses_it_there_only(admin_port, cluster, sessions) -> None:
    twin = REGISTRY.create(ACCOUNT, "eu-west-1", cluster.name)
    try:
        code, answer = admin(
            admin_port,
            "DELETE",
            f"/clusters/{cluster.name}{ROLES}/{RESTORE}/verbs/patch?resource=deployments/scale&region=us-east-1",
        )
        assert code == 200, answer
        change = {
            "role": f"Role {NS}/{RESTORE}",
            "rule": 1,
            "apiGroups": ["apps"],
            "resources": ["deployments/scale"],
            "resourceNames": ["loft"],
            "verbs": ["patch"],
        }
        assert answer["removed"] == [change]
        assert answer["role"]["kind"] == "Role" and answer["role"]["metadata"] == {
            "name": RESTORE,
            "namespace": NS,
        }
        assert [r["resources"] for r in answer["role"]["rules"]] == [
            ["deployments"],
            ["pods"],
            ["ingresses"],
        ], "a rule left without a verb goes"
        scale = {"spec": {"replicas": 2}}
        merge = "application/merge-patch+json"
        code, _, refusal = call(
            cluster, sessions, "restore-platform", "PATCH", DEPLOYMENT + "/scale", scale, content_type=merge
        )
        assert (code, refusal["reason"]) == (403, "Forbidden")
        assert ask(cluster, sessions, "restore-platform", platform("patch", "scale")) == {"allowed": False}
        assert ask(cluster, sessions, "restore-platform", platform("patch"))["allowed"] is True
        restart = {
            "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "x"}}}}
        }
        code, _, _ = call(
            cluster, sessions, "restore-platform", "PATCH", DEPLOYMENT, restart, content_type=merge
        )
        assert code == 200
        scaling = rbac.request_attributes("PATCH", DEPLOYMENT + "/scale", {})
        assert twin.policy.authorize("u", (RESTORE,), scaling).allowed, (
            "the other region's cluster keeps its RBAC"
        )
        _, report = admin(admin_port, "GET", f"/clusters/{cluster.name}/rbac?region=us-east-1")
        assert report["changes"] == [change]
        assert not any(g["resource"] == "deployments/scale" for g in report["grants"])
        assert [r["resource"] for r in report["refused"]] == ["deployments/scale"]
    finally:
        REGISTRY.remove(ACCOUNT, "eu-west-1", cluster.name)


def test_a_verb_comes_out_of_every_rule_of_a_role_and_a_reload_puts_it_back(admin_port, cluster, sessions):
    ask(cluster, sessions, "verify-recovery", platform("get"))
    call(cluster, sessions, "verify-recovery", "GET", DEPLOYMENT)
    call(cluster, sessions, "verify-recovery", "GET", "/apis/storage.loft.sh/v1/networkpeers")
    code, answer = admin(admin_port, "DELETE", f"/clusters/{cluster.name}{ROLES}/{RESTORE}/verbs/patch")
    assert code == 200
    assert [(c["rule"], c["resources"]) for c in answer["removed"]] == [
        (0, ["deployments"]),
        (1, ["deployments/scale"]),
    ]
    assert answer["role"]["rules"][0]["verbs"] == ["get"]
    code, answer = admin(
        admin_port,
        "DELETE",
        f"/clusters/{cluster.name}/rbac/clusterroles/{READ}/verbs/list?resource=networkpeers",
    )
    assert (code, [c["role"] for c in answer["removed"]]) == (200, [f"ClusterRole {READ}"])
    assert (
        call(cluster, sessions, "verify-recovery", "GET", "/apis/storage.loft.sh/v1/networkpeers")[0] == 403
    )
    assert ask(cluster, sessions, "restore-platform", platform("patch")) == {"allowed": False}

    _, report = admin(admin_port, "GET", f"/clusters/{cluster.name}/rbac")
    assert len(report["changes"]) == 3
    used = {(g["verb"], g["resource"]): g["used"] for g in report["grants"] if g["subject"]["name"] == READ}
    assert used[("get", "deployments")] == 1, "the counts of the grants still there carry over"
    assert ("list", "networkpeers") not in used

    code, answer = admin(admin_port, "POST", f"/clusters/{cluster.name}/rbac/reload")
    assert (code, answer["undone"]) == (200, 3)
    assert [Path(m).name for m in answer["manifests"]] == ["platform-failover.yaml"]
    assert ask(cluster, sessions, "restore-platform", platform("patch"))["allowed"] is True
    _, report = admin(admin_port, "GET", f"/clusters/{cluster.name}/rbac")
    assert report["changes"] == []
    used = {(g["verb"], g["resource"]): g["used"] for g in report["grants"] if g["subject"]["name"] == READ}
    assert used[("get", "deployments")] == 1 and used[("list", "networkpeers")] == 0


@pytest.mark.parametrize(
    ("method", "path", "code", "error"),
    [
        (
            "DELETE",
            f"{ROLES}/platform-failover-admin/verbs/patch",
            404,
            f"no Role {NS}/platform-failover-admin in the applied RBAC (roles: ClusterRole {READ}, "
            f"ClusterRole {RESTORE}, Role {NS}/{READ}, Role {NS}/{RESTORE})",
        ),
        (
            "DELETE",
            f"/rbac/roles/default/{READ}/verbs/get",
            404,
            f"no Role default/{READ} in the applied RBAC",
        ),
        ("DELETE", f"/rbac/clusterroles/{NS}/verbs/get", 404, f"no ClusterRole {NS} in the applied RBAC"),
        (
            "DELETE",
            f"{ROLES}/{READ}/verbs/patch",
            404,
            f"Role {NS}/{READ} does not grant verb 'patch' (its verbs: get, list; a * is removed only as *)",
        ),
        (
            "DELETE",
            f"{ROLES}/{READ}/verbs/list?resource=deployments",
            404,
            f"Role {NS}/{READ} does not grant verb 'list' on 'deployments' (its verbs on 'deployments': get;",
        ),
        (
            "DELETE",
            f"{ROLES}/{READ}/verbs/get?resource=deployments/scale",
            404,
            f"Role {NS}/{READ} has no rule on 'deployments/scale' "
            "(its rules name: deployments, ingresses, pods)",
        ),
        ("DELETE", f"{ROLES}/{READ}/verbs/get?resource=", 400, "resource: empty"),
        ("DELETE", f"{ROLES}/{READ}/verbs/get?rule=0", 400, "unknown query parameter rule"),
        ("GET", f"{ROLES}/{READ}/verbs/get", 405, "GET not allowed here; use DELETE"),
        ("DELETE", f"{ROLES}/{READ}/verbs", 404, "unknown path; use /clusters/{name}/rbac"),
        ("DELETE", f"/rbac/rolebindings/{NS}/{READ}/verbs/get", 404, "unknown path; use"),
        ("GET", "/rbac/reload", 405, "GET not allowed here; use POST"),
        ("DELETE", "/rbac", 405, "DELETE not allowed here; use GET"),
    ],
)
def test_an_rbac_change_that_cannot_be_made_is_refused_naming_what_is_wrong(
    admin_port, cluster, method, path, code, error
) -> None:
    before = cluster.policy
    answer_code, answer = admin(admin_port, method, f"/clusters/{cluster.name}{path}")
    assert answer_code == code
    assert answer["error"].startswith(error), answer["error"]
    assert cluster.policy is before and cluster.rbac_changes == []


def test_a_reload_of_a_manifest_that_does_not_load_keeps_the_applied_rbac(
    admin_port, cluster, monkeypatch, tmp_path
) -> None:
    admin(admin_port, "DELETE", f"/clusters/{cluster.name}{ROLES}/{READ}/verbs/list")
    (tmp_path / "broken.yaml").write_text("kind: Secret\napiVersion: v1\nmetadata: {name: s}\n")
    load = rbac.load
    monkeypatch.setattr(rbac, "load", lambda namespace, deployment: load(namespace, deployment, tmp_path))
    code, answer = admin(admin_port, "POST", f"/clusters/{cluster.name}/rbac/reload")
    assert code == 400
    assert answer["error"].startswith("RBAC manifests: ") and "kind 'Secret' is not RBAC" in answer["error"]
    assert answer["error"].endswith("the applied RBAC stays")
    assert len(cluster.rbac_changes) == 1
