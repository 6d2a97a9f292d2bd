"""One cluster's Kubernetes API over HTTPS, as the adapter reaches it: TLS
against the cluster's own CA, an EKS token on every request, injected faults
first, every request in the log and never the token."""

import base64
import http.client
import json
import logging
import ssl
import sys
import time
import uuid
from pathlib import Path

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi import REGISTRY  # noqa: E402

ACCOUNT = "123456789012"
DEPLOYMENT = "/apis/apps/v1/namespaces/vcluster-platform/deployments/loft"
PODS = "/api/v1/namespaces/vcluster-platform/pods"


def eks_token(cluster: str, region: str = "us-east-1") -> str:
    request = AWSRequest(
        method="GET",
        url=f"https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"x-k8s-aws-id": cluster},
    )
    SigV4QueryAuth(Credentials("testing", "testing"), "sts", region, expires=60).add_auth(request)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(request.url.encode()).decode().rstrip("=")


@pytest.fixture
def cluster():
    name = f"kt-{uuid.uuid4().hex[:8]}"
    kube = REGISTRY.create(ACCOUNT, "us-east-1", name)
    yield kube
    REGISTRY.remove(ACCOUNT, "us-east-1", name)


@pytest.fixture
def other_cluster():
    name = f"kt-{uuid.uuid4().hex[:8]}"
    kube = REGISTRY.create(ACCOUNT, "eu-west-1", name)
    yield kube
    REGISTRY.remove(ACCOUNT, "eu-west-1", name)


def trusting(ca_pem: bytes) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca_pem.decode())


class Client:
    """A keep-alive HTTPS connection to one cluster, trusting its CA."""

    def __init__(self, kube, ca_pem: bytes | None = None):
        self.kube = kube
        self.connection = http.client.HTTPSConnection(
            "127.0.0.1", kube.port, context=trusting(ca_pem or kube.ca_pem), timeout=10
        )

    def call(
        self,
        method,
        path,
        body=None,
        token: str | None = "valid",
        content_type="application/merge-patch+json",
    ):
        headers = {"User-Agent": "kubeapi-tests"}
        if token == "valid":
            token = eks_token(self.kube.name)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        raw = None
        if body is not None:
            raw = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        self.connection.request(method, path, body=raw, headers=headers)
        response = self.connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())


def test_the_api_answers_over_tls_verified_against_the_clusters_ca(cluster):
    client = Client(cluster)
    code, headers, body = client.call("GET", DEPLOYMENT)
    assert (code, body["kind"]) == (200, "Deployment")
    assert headers["Content-Type"] == "application/json"
    tls = client.connection.sock
    assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert tls.getpeercert()["subject"] == ((("commonName", "kube-apiserver"),),)


def test_the_endpoint_and_ca_data_are_what_describe_cluster_needs(cluster):
    assert cluster.endpoint == f"https://127.0.0.1:{cluster.port}"
    assert base64.b64decode(cluster.ca_data) == cluster.ca_pem
    assert cluster.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_another_clusters_ca_does_not_trust_this_endpoint(cluster, other_cluster):
    with pytest.raises(ssl.SSLCertVerificationError):
        Client(cluster, ca_pem=other_cluster.ca_pem).call("GET", DEPLOYMENT)


def test_http_1_1_is_negotiated_and_connections_are_kept_alive(cluster):
    context = trusting(cluster.ca_pem)
    context.set_alpn_protocols(["h2", "http/1.1"])
    connection = http.client.HTTPSConnection("127.0.0.1", cluster.port, context=context, timeout=10)
    client = Client(cluster)
    client.connection = connection
    for _ in range(3):
        assert client.call("GET", PODS)[0] == 200
    assert connection.sock.selected_alpn_protocol() == "http/1.1"


@pytest.mark.parametrize("token", [None, "hello", "k8s-aws-v1.bm90IGEgdXJs", "for another cluster"])
def test_a_request_without_a_valid_token_is_unauthorized(cluster, token):
    if token == "for another cluster":
        token = eks_token("someone-elses-cluster")
    code, _, body = Client(cluster).call("GET", DEPLOYMENT, token=token)
    assert (code, body["kind"], body["reason"], body["code"]) == (401, "Status", "Unauthorized", 401)
    (logged,) = cluster.requests
    assert (logged["status"], logged["auth"]) == (401, False)
    assert logged["auth_error"] == body["message"]


def test_the_token_is_never_in_the_request_log_an_answer_or_the_log(cluster, caplog):
    caplog.set_level(logging.DEBUG)
    good, bad = eks_token(cluster.name), eks_token("someone-elses-cluster")
    client = Client(cluster)
    answers = [client.call("GET", DEPLOYMENT, token=good), client.call("GET", DEPLOYMENT, token=bad)]
    assert [a[0] for a in answers] == [200, 401]
    recorded = json.dumps(list(cluster.requests)) + json.dumps([a[2] for a in answers]) + caplog.text
    for token in (good, bad):
        assert token not in recorded
        assert token[len("k8s-aws-v1.") :] not in recorded


def test_every_request_is_recorded_and_logged_in_one_line(cluster, caplog):
    caplog.set_level(logging.INFO, logger="local-cloud.kube")
    client = Client(cluster)
    client.call("GET", PODS + "?labelSelector=app%3Dloft")
    client.call("PATCH", DEPLOYMENT + "/scale", {"spec": {"replicas": 2}})
    listed, scaled = cluster.requests
    assert listed["method"] == "GET" and listed["path"] == PODS
    assert listed["query"] == {"labelSelector": "app=loft"}
    assert (listed["status"], listed["auth"], listed["fault"], listed["body"]) == (200, True, False, None)
    assert listed["user_agent"] == "kubeapi-tests"
    assert listed["time"].endswith("Z")
    assert scaled["content_type"] == "application/merge-patch+json"
    assert scaled["body"] == {"spec": {"replicas": 2}}
    assert f"kube {cluster.name} GET {PODS} -> 200" in caplog.text
    assert f"kube {cluster.name} PATCH {DEPLOYMENT}/scale -> 200" in caplog.text


def test_a_queued_status_fault_answers_count_requests_then_passes(cluster):
    with cluster.lock:
        cluster.faults.add({"status": 503, "count": 2})
    client = Client(cluster)
    answers = [client.call("GET", DEPLOYMENT) for _ in range(3)]
    assert [a[0] for a in answers] == [503, 503, 200]
    assert answers[0][1]["Retry-After"] == "1"
    assert answers[0][2]["reason"] == "ServiceUnavailable"
    assert [r["fault"] for r in cluster.requests] == [True, True, False]
    assert cluster.faults.pending() == []


def test_a_fault_comes_before_authentication(cluster):
    with cluster.lock:
        cluster.faults.add({"status": 500})
    code, headers, body = Client(cluster).call("GET", DEPLOYMENT, token=None)
    assert (code, body["reason"]) == (500, "InternalError")
    assert "Retry-After" not in headers
    assert cluster.requests[0]["auth"] is False and cluster.requests[0]["auth_error"] is None


def test_a_fault_takes_only_the_requests_it_names(cluster):
    with cluster.lock:
        cluster.faults.add({"status": 429, "method": "patch", "path_prefix": DEPLOYMENT})
    client = Client(cluster)
    assert client.call("GET", DEPLOYMENT)[0] == 200
    assert client.call("PATCH", "/api/v1/nodes", {})[0] == 405
    code, headers, _ = client.call("PATCH", DEPLOYMENT + "/scale", {"spec": {"replicas": 3}})
    assert (code, headers["Retry-After"]) == (429, "1")
    assert client.call("PATCH", DEPLOYMENT + "/scale", {"spec": {"replicas": 3}})[0] == 200


def test_a_delay_fault_waits_then_answers_normally(cluster):
    with cluster.lock:
        cluster.faults.add({"delay_seconds": 0.4})
    client = Client(cluster)
    started = time.monotonic()
    code, _, body = client.call("GET", DEPLOYMENT)
    assert time.monotonic() - started >= 0.4
    assert (code, body["kind"]) == (200, "Deployment")
    assert cluster.requests[0]["fault"] is False
