"""The admin API tests and drills use (tests/support/lib.rs, drill.py,
provision.py): its paths, answers and errors."""

import base64
import http.client
import json
import ssl
import sys
import uuid
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi import EXTRA_ROUTES, REGISTRY, AdminError, start_admin  # noqa: E402

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def admin_port():
    server = start_admin("127.0.0.1", 0)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def cluster():
    name = f"kt-{uuid.uuid4().hex[:8]}"
    kube = REGISTRY.create(ACCOUNT, "us-east-1", name)
    yield kube
    REGISTRY.remove(ACCOUNT, "us-east-1", name)


def call(port: int, method: str, path: str, body=None, raw: bytes | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return response.status, answer


def test_clusters_are_listed_with_what_describe_cluster_answers(admin_port, cluster):
    code, answer = call(admin_port, "GET", "/clusters")
    assert code == 200
    (entry,) = [c for c in answer["clusters"] if c["name"] == cluster.name]
    assert entry == {
        "name": cluster.name,
        "region": "us-east-1",
        "account": ACCOUNT,
        "endpoint": cluster.endpoint,
        "certificate_authority_data": cluster.ca_data,
        "cluster_status": "ACTIVE",
    }
    assert base64.b64decode(entry["certificate_authority_data"]).startswith(b"-----BEGIN CERTIFICATE-----")
    assert call(admin_port, "GET", f"/clusters/{cluster.name}") == (200, entry)


def test_an_unknown_cluster_is_not_found_and_the_known_ones_are_named(admin_port, cluster):
    code, answer = call(admin_port, "GET", "/clusters/nobody/state")
    assert code == 404
    assert answer["error"].startswith("no cluster nobody (clusters: ")
    assert cluster.name in answer["error"]


def test_a_name_in_two_regions_needs_the_region(admin_port, cluster):
    twin = REGISTRY.create(ACCOUNT, "eu-west-1", cluster.name)
    try:
        code, answer = call(admin_port, "GET", f"/clusters/{cluster.name}")
        assert (code, answer["error"]) == (
            409,
            f"cluster {cluster.name} exists in eu-west-1, us-east-1: add ?region=",
        )
        code, answer = call(admin_port, "GET", f"/clusters/{cluster.name}?region=eu-west-1")
        assert (code, answer["endpoint"]) == (200, twin.endpoint)
    finally:
        REGISTRY.remove(ACCOUNT, "eu-west-1", cluster.name)


def test_a_scenario_patch_merges_and_answers_the_state(admin_port, cluster):
    code, state = call(admin_port, "PATCH", f"/clusters/{cluster.name}/scenario", {"pods": "crashloop"})
    assert code == 200
    assert set(state) == {"cluster", "scenario", "summary", "deployment", "pods", "rollouts", "faults"}
    assert state["scenario"]["pods"] == "crashloop"
    assert state["scenario"]["deployment"]["replicas"] == 3
    assert [p["reason"] for p in state["summary"]["pods"]] == ["CrashLoopBackOff"] * 3
    assert state["deployment"]["kind"] == "Deployment"
    assert len(state["pods"]) == 3
    assert call(admin_port, "GET", f"/clusters/{cluster.name}/scenario")[1] == state["scenario"]


def test_a_scenario_put_starts_the_cluster_over(admin_port, cluster):
    call(
        admin_port,
        "PATCH",
        f"/clusters/{cluster.name}/scenario",
        {"pods": "crashloop", "deployment": {"replicas": 1}},
    )
    code, state = call(admin_port, "PUT", f"/clusters/{cluster.name}/scenario", {"cluster_status": "FAILED"})
    assert code == 200
    assert state["scenario"]["pods"] == "ready"
    assert state["scenario"]["deployment"]["replicas"] == 3
    assert state["cluster"]["cluster_status"] == "FAILED"
    assert state["summary"]["deployment"]["generation"] == 1


@pytest.mark.parametrize(
    ("method", "body", "raw", "error"),
    [
        ("PATCH", {"pods": "sleepy"}, None, "pods: one of ready"),
        ("PUT", {"nodes": {"ready": -1}}, None, "nodes.ready: an integer 0..200"),
        ("PATCH", None, b"{not json", "the body is not JSON"),
        ("PATCH", ["pods"], None, "a scenario patch is a JSON object"),
    ],
)
def test_a_bad_scenario_is_refused_and_changes_nothing(admin_port, cluster, method, body, raw, error):
    code, answer = call(admin_port, method, f"/clusters/{cluster.name}/scenario", body, raw)
    assert code == 400 and answer["error"].startswith(error)
    assert cluster.state.scenario["pods"] == "ready"


def test_faults_are_queued_listed_and_cleared(admin_port, cluster):
    path = f"/clusters/{cluster.name}/faults"
    code, answer = call(admin_port, "POST", path, {"status": 503, "count": 2, "method": "get"})
    assert code == 200
    assert answer == {
        "faults": [
            {
                "id": 1,
                "status": 503,
                "delay_seconds": None,
                "remaining": 2,
                "method": "GET",
                "path_prefix": None,
            }
        ]
    }
    assert call(admin_port, "GET", path) == (200, answer)
    assert call(admin_port, "GET", f"/clusters/{cluster.name}/state")[1]["faults"] == answer["faults"]
    assert call(admin_port, "DELETE", path) == (200, {"faults": []})


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 700}, "status: an HTTP status 400..599"),
        ({"count": 2}, "a fault needs status and/or delay_seconds"),
        ({"delay_seconds": 601}, "delay_seconds: a number 0..600"),
        ({"status": 500, "count": 0}, "count: an integer >= 1"),
        ({"status": 500, "colour": "red"}, "unknown fault keys: colour"),
    ],
)
def test_a_bad_fault_is_refused(admin_port, cluster, fault, error):
    code, answer = call(admin_port, "POST", f"/clusters/{cluster.name}/faults", fault)
    assert (code, answer["error"]) == (400, error)
    assert cluster.faults.pending() == []


def test_the_request_log_is_read_and_cleared(admin_port, cluster):
    # A request without a token is enough to be logged (401).
    context = ssl.create_default_context(cadata=cluster.ca_pem.decode())
    connection = http.client.HTTPSConnection("127.0.0.1", cluster.port, context=context, timeout=10)
    connection.request("GET", "/api/v1/nodes")
    assert connection.getresponse().status == 401
    path = f"/clusters/{cluster.name}/requests"
    code, answer = call(admin_port, "GET", path)
    assert code == 200
    assert [(r["method"], r["path"], r["status"], r["auth"]) for r in answer["requests"]] == [
        ("GET", "/api/v1/nodes", 401, False)
    ]
    assert call(admin_port, "DELETE", path) == (200, {"cleared": 1})
    assert call(admin_port, "GET", path) == (200, {"requests": []})


@pytest.mark.parametrize(
    ("method", "path", "code", "error"),
    [
        ("POST", "/clusters", 405, "POST not allowed here; use GET"),
        ("DELETE", "/clusters/{name}/state", 405, "DELETE not allowed here; use GET"),
        ("POST", "/clusters/{name}/scenario", 405, "POST not allowed here; use GET, PUT, PATCH"),
        ("PUT", "/clusters/{name}/requests", 405, "PUT not allowed here; use GET, DELETE"),
        ("GET", "/", 404, "unknown path; see GET /clusters"),
        ("GET", "/clusters/{name}/state/extra", 404, "unknown path; see GET /clusters"),
        ("GET", "/clusters/{name}/pods", 404, "unknown path /clusters/{name}/pods"),
    ],
)
def test_wrong_methods_and_paths_are_named(admin_port, cluster, method, path, code, error):
    answer_code, answer = call(admin_port, method, path.replace("{name}", cluster.name))
    assert answer_code == code
    assert answer["error"].startswith(error.replace("{name}", cluster.name))


def test_other_modules_serve_their_routes_on_the_same_port(admin_port):
    seen = []

    def echo(method, segments, read_body):
        seen.append((method, segments, read_body()))
        if segments == ["broken"]:
            raise AdminError(418, "no coffee here")
        return 200, {"echo": segments}

    EXTRA_ROUTES["echo"] = echo
    try:
        assert call(admin_port, "PUT", "/echo/a/b", {"x": 1}) == (200, {"echo": ["a", "b"]})
        assert call(admin_port, "GET", "/echo/broken") == (418, {"error": "no coffee here"})
    finally:
        del EXTRA_ROUTES["echo"]
    assert seen == [("PUT", ["a", "b"], {"x": 1}), ("GET", ["broken"], {})]
