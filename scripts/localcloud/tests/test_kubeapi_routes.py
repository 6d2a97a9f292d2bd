"""The Kubernetes API paths: what the adapter calls answers as an API server
does; anything else is refused loudly rather than half emulated."""

import json
import sys
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi import rbac, routes  # noqa: E402
from kubeapi.api_errors import ApiError  # noqa: E402
from kubeapi.controller import ClusterState  # noqa: E402
from kubeapi.scenario import complete_scenario  # noqa: E402

NS = "/apis/apps/v1/namespaces/vcluster-platform"
DEPLOYMENT = f"{NS}/deployments/loft"
PODS = "/api/v1/namespaces/vcluster-platform/pods"
INGRESS = "/apis/networking.k8s.io/v1/namespaces/vcluster-platform/ingresses/loft"
PEERS = "/apis/storage.loft.sh/v1/networkpeers"
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def cluster(**scenario) -> ClusterState:
    state = ClusterState("kt-us-east-1", "us-east-1")
    state.apply_scenario(complete_scenario(scenario, state.name, state.region), replace=True)
    return state


def call(state, method, path, query=None, body=None, content_type=routes.MERGE_PATCH):
    raw = json.dumps(body).encode() if body is not None else b""
    return routes.handle(state, routes.Request(method, path, query or {}, content_type, raw))


def refused(state, method, path, **kwargs) -> dict:
    with pytest.raises(ApiError) as caught:
        call(state, method, path, **kwargs)
    return caught.value.body


@pytest.mark.parametrize(
    ("method", "path", "query", "kind"),
    [
        ("GET", DEPLOYMENT, {}, "Deployment"),
        ("GET", PODS, {"labelSelector": "app=loft"}, "PodList"),
        ("GET", "/api/v1/nodes", {}, "NodeList"),
        ("GET", INGRESS, {}, "Ingress"),
        ("GET", PEERS, {}, "NetworkPeerList"),
    ],
)
def test_every_read_the_adapter_makes_answers_its_kind(method, path, query, kind):
    code, answer = call(cluster(), method, path, query)
    assert (code, answer["kind"]) == (200, kind)


def test_a_list_carries_the_clusters_resource_version():
    state = cluster()
    _, answer = call(state, "GET", PODS)
    assert answer["metadata"] == {"resourceVersion": state.resource_version}
    assert len(answer["items"]) == 3


def test_pods_are_listed_by_label_selector():
    state = cluster()
    assert len(call(state, "GET", PODS, {"labelSelector": "app=loft,release=loft"})[1]["items"]) == 3
    assert call(state, "GET", PODS, {"labelSelector": "app=other"})[1]["items"] == []


def test_pods_of_another_namespace_are_an_empty_list():
    assert call(cluster(), "GET", "/api/v1/namespaces/default/pods")[1]["items"] == []


def test_a_missing_deployment_is_not_found_as_get_opt_expects():
    body = refused(cluster(deployment={"exists": False}), "GET", DEPLOYMENT)
    assert body["code"] == 404
    assert body["reason"] == "NotFound"
    assert body["message"] == 'deployments.apps "loft" not found'
    assert body["details"] == {"name": "loft", "kind": "deployments", "group": "apps"}


@pytest.mark.parametrize(
    "path",
    [f"{NS}/deployments/other", "/apis/apps/v1/namespaces/default/deployments/loft"],
)
def test_another_deployment_is_not_found(path):
    body = refused(cluster(), "GET", path)
    assert (body["code"], body["reason"]) == (404, "NotFound")


def test_a_missing_deployment_cannot_be_scaled():
    body = refused(cluster(deployment={"exists": False}), "PATCH", DEPLOYMENT + "/scale", body={"spec": {}})
    assert (body["code"], body["message"]) == (404, 'deployments.apps "loft" not found')


def test_a_missing_ingress_is_not_found():
    body = refused(cluster(ingress={"exists": False}), "GET", INGRESS)
    assert body["message"] == 'ingresses.networking.k8s.io "loft" not found'
    assert body["details"]["group"] == "networking.k8s.io"


@pytest.mark.parametrize(
    "path",
    [
        "/version/info",
        "/healthz",
        "/api/v1/pods",
        f"{PEERS}/kt-us-east-1-peer-1",
        "/apis/apps/v1/deployments",
    ],
)
def test_a_path_the_adapter_does_not_use_is_not_found(path):
    body = refused(cluster(), "GET", path)
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server could not find the requested resource",
        "reason": "NotFound",
        "code": 404,
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", DEPLOYMENT),
        ("DELETE", DEPLOYMENT),
        ("GET", DEPLOYMENT + "/scale"),
        ("PUT", DEPLOYMENT + "/scale"),
        ("POST", PODS),
        ("PATCH", "/api/v1/nodes"),
        ("DELETE", PEERS),
    ],
)
def test_another_method_on_a_known_path_is_not_allowed(method, path):
    body = refused(cluster(), method, path, body={})
    assert (body["code"], body["reason"]) == (405, "MethodNotAllowed")
    assert f"({method})" in body["message"]


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        (DEPLOYMENT, {"watch": "true"}, "watch"),
        (PODS, {"fieldSelector": "status.phase=Running"}, "fieldSelector"),
        (PODS, {"watch": "1", "labelSelector": "app=loft"}, "watch"),
        (DEPLOYMENT, {"resourceVersion": "0"}, "resourceVersion"),
    ],
)
def test_a_query_parameter_the_path_does_not_take_is_refused(path, query, named):
    body = refused(cluster(), "GET", path, query=query)
    assert (body["code"], body["reason"]) == (400, "BadRequest")
    assert f"does not support the query parameter {named} " in body["message"]


def test_a_dry_run_patch_is_refused_and_changes_nothing():
    state = cluster()
    body = refused(
        state, "PATCH", DEPLOYMENT + "/scale", query={"dryRun": "All"}, body={"spec": {"replicas": 0}}
    )
    assert body["code"] == 400 and "dryRun" in body["message"]
    assert len(state.pods) == 3


@pytest.mark.parametrize(
    "content_type",
    [
        "application/strategic-merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
        "",
    ],
)
def test_only_a_json_merge_patch_is_accepted(content_type):
    state = cluster()
    body = refused(state, "PATCH", DEPLOYMENT, body={"spec": {"replicas": 1}}, content_type=content_type)
    assert (body["code"], body["reason"]) == (415, "UnsupportedMediaType")
    assert body["message"].endswith("accepted media types include: application/merge-patch+json")
    assert state.deployment["spec"]["replicas"] == 3


def test_a_resource_version_precondition_is_refused_not_ignored():
    state = cluster()
    rv = state.deployment["metadata"]["resourceVersion"]
    patch = {"metadata": {"resourceVersion": rv}, "spec": {"replicas": 1}}
    body = refused(state, "PATCH", DEPLOYMENT, body=patch)
    assert body["code"] == 400 and "precondition" in body["message"]
    assert state.deployment["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    ("patch", "code", "field"),
    [
        ({"spec": {"replicas": -1}}, 422, "spec.replicas"),
        ({"spec": {"replicas": "3"}}, 400, "spec.replicas"),
        ({"spec": {"paused": "yes"}}, 400, "spec.paused"),
        ({"spec": {"selector": {"matchLabels": {"app": "other"}}}}, 422, "spec.selector"),
        (
            {"spec": {"template": {"metadata": {"labels": {"app": "other"}}}}},
            422,
            "spec.template.metadata.labels",
        ),
        ({"spec": {"template": {"spec": {"containers": []}}}}, 422, "spec.template.spec.containers"),
        ({"spec": {"template": {"spec": {"containers": [{"name": "manager"}]}}}}, 422, "containers[0].image"),
        ({"spec": None}, 422, "spec"),
        ({"metadata": {"name": "other"}}, 400, "name"),
    ],
)
def test_an_invalid_deployment_patch_is_refused_and_nothing_changes(patch, code, field):
    state = cluster()
    before = json.dumps(state.deployment, sort_keys=True)
    body = refused(state, "PATCH", DEPLOYMENT, body=patch)
    assert body["code"] == code
    assert field in body["message"]
    assert json.dumps(state.deployment, sort_keys=True) == before
    if code == 422:
        assert body["reason"] == "Invalid"


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"not json", "error decoding the request body as JSON"), (b"[1]", "the patch must be a JSON object")],
)
def test_a_patch_body_that_is_not_an_object_is_a_bad_request(raw, message):
    request = routes.Request("PATCH", DEPLOYMENT, {}, routes.MERGE_PATCH, raw)
    with pytest.raises(ApiError) as caught:
        routes.handle(cluster(), request)
    assert caught.value.code == 400 and message in caught.value.body["message"]


def test_a_negative_scale_is_invalid():
    body = refused(cluster(), "PATCH", DEPLOYMENT + "/scale", body={"spec": {"replicas": -2}})
    assert (body["code"], body["reason"]) == (422, "Invalid")
    assert body["message"].startswith('Scale.autoscaling "loft" is invalid: spec.replicas')


def test_a_review_asks_the_callers_own_authorizer_about_what_it_decoded():
    seen = []
    missing = 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found'

    def review(attributes):
        seen.append(attributes)
        return rbac.Decision(False, (), missing)

    body = {"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}}
    request = routes.Request("POST", REVIEWS, {}, "application/json", json.dumps(body).encode(), review)
    code, answer = routes.handle(cluster(), request)
    assert seen == [rbac.Attributes(verb="get", path="/healthz", resource_request=False)]
    assert (code, answer["status"]) == (201, {"allowed": False, "reason": missing})
    assert answer["spec"] == body["spec"]


def test_a_review_without_an_authorizer_is_an_internal_error():
    body = json.dumps({"spec": {"resourceAttributes": {}}}).encode()
    with pytest.raises(ApiError) as caught:
        routes.handle(cluster(), routes.Request("POST", REVIEWS, {}, "application/json", body))
    assert caught.value.code == 500


def test_the_version_follows_the_scenario():
    one, other = cluster(), cluster(kubernetes_version="1.32")
    assert call(one, "GET", "/version") == call(one, "GET", "/version/")
    first, second = call(one, "GET", "/version")[1], call(other, "GET", "/version")[1]
    assert (first["minor"], second["minor"]) == ("31+", "32+")
    assert first["gitCommit"] != second["gitCommit"] and len(second["gitCommit"]) == 40
    assert refused(one, "GET", "/version", query={"timeout": "5s"})["code"] == 400
