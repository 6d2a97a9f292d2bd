"""Authentication and RBAC over HTTPS, as the adapter meets them: a caller
needs an access entry (else 401), then the shipped RBAC decides (else 403,
worded as the API server words it, before the path is even looked up);
the request log says who asked and what RBAC saw; the admin API maps
principals and reports which grants were used."""

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
from kubeapi import REGISTRY, access, start_admin  # noqa: E402

ACCOUNT = "123456789012"
DEPLOYMENT = "/apis/apps/v1/namespaces/vcluster-platform/deployments/loft"
MERGE = "application/merge-patch+json"


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
    issued = dict(identity(f) for f in ("verify-recovery", "restore-platform", "confirm-outage"))
    access.use_temporary_credentials(issued.get)
    yield issued
    access.use_temporary_credentials(None)


def key_of(sessions: dict[str, access.Credential], function: str) -> str:
    return next(k for k, c in sessions.items() if c.caller.arn.endswith(f"/env-{function}"))


@pytest.fixture
def cluster(sessions):
    name = f"kt-{uuid.uuid4().hex[:8]}"
    kube = REGISTRY.create(ACCOUNT, "us-east-1", name)
    for function, group in (
        ("verify-recovery", "platform-failover-read"),
        ("restore-platform", "platform-failover-restore"),
    ):
        role = sessions[key_of(sessions, function)].caller.principal_arn
        kube.put_access_entry(access.access_entry_from({"principalArn": role, "kubernetesGroups": [group]}))
    yield kube
    REGISTRY.remove(ACCOUNT, "us-east-1", name)


@pytest.fixture(scope="module")
def admin_port():
    server = start_admin("127.0.0.1", 0)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def token(cluster, key: str, credential: access.Credential) -> str:
    request = AWSRequest(
        method="GET",
        url="https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"x-k8s-aws-id": cluster.name},
    )
    creds = Credentials(key, credential.secret, credential.session_token)
    SigV4QueryAuth(creds, "sts", "us-east-1", expires=60).add_auth(request)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(request.url.encode()).decode().rstrip("=")


def call(cluster, sessions, function: str, method: str, path: str, body=None):
    key = key_of(sessions, function)
    context = ssl.create_default_context(cadata=cluster.ca_pem.decode())
    connection = http.client.HTTPSConnection("127.0.0.1", cluster.port, context=context, timeout=10)
    headers = {"Authorization": f"Bearer {token(cluster, key, sessions[key])}"}
    raw = None
    if body is not None:
        raw, headers["Content-Type"] = json.dumps(body).encode(), MERGE
    connection.request(method, path, body=raw, headers=headers)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return response.status, answer


def admin(port: int, method: str, path: str, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    raw = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, body=raw, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return response.status, answer


def session_of(function: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/env-{function}/env-{function}"


def test_a_reader_reads_and_its_patch_is_refused_with_the_api_servers_status(cluster, sessions) -> None:
    assert call(cluster, sessions, "verify-recovery", "GET", DEPLOYMENT)[0] == 200
    code, body = call(cluster, sessions, "verify-recovery", "PATCH", DEPLOYMENT, {"spec": {"replicas": 0}})
    assert (code, body) == (
        403,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": (
                f'deployments.apps "loft" is forbidden: User "{session_of("verify-recovery")}" cannot patch '
                'resource "deployments" in API group "apps" in the namespace "vcluster-platform"'
            ),
            "reason": "Forbidden",
            "details": {"name": "loft", "group": "apps", "kind": "deployments"},
            "code": 403,
        },
    )
    assert cluster.state.deployment["spec"]["replicas"] == 3, "a refused patch changes nothing"
    logged = list(cluster.requests)[-1]
    assert logged["caller"] == logged["user"] == session_of("verify-recovery")
    assert logged["groups"] == ["platform-failover-read", "system:authenticated"]
    assert logged["authorization"] == {
        "verb": "patch",
        "api_group": "apps",
        "resource": "deployments",
        "name": "loft",
        "namespace": "vcluster-platform",
        "allowed": False,
        "by": "RBAC",
    }
    recorded = json.dumps(list(cluster.requests))
    assert "secret-of-" not in recorded and "token-of-" not in recorded


def test_restore_patches_the_platform_but_not_another_deployment_that_does_not_even_exist(
    cluster, sessions
) -> None:
    scale = {"spec": {"replicas": 2}}
    assert call(cluster, sessions, "restore-platform", "PATCH", DEPLOYMENT + "/scale", scale)[0] == 200
    other = DEPLOYMENT.replace("/loft", "/other")
    code, body = call(cluster, sessions, "restore-platform", "PATCH", other, scale)
    # RBAC comes before the lookup: a caller learns nothing of what exists.
    assert (code, body["reason"]) == (403, "Forbidden")
    assert 'deployments.apps "other" is forbidden' in body["message"]


def test_a_caller_without_an_access_entry_is_unauthorized_as_on_eks(cluster, sessions) -> None:
    code, body = call(cluster, sessions, "confirm-outage", "GET", DEPLOYMENT)
    assert (code, body["reason"]) == (401, "Unauthorized")
    role = f"arn:aws:iam::{ACCOUNT}:role/env-confirm-outage"
    assert body["message"].startswith(f"{role} has no access entry on cluster {cluster.name}")
    logged = list(cluster.requests)[-1]
    assert (logged["auth"], logged["caller"], logged["user"]) == (False, session_of("confirm-outage"), None)


def test_the_rbac_report_counts_each_grant_used_and_each_refusal(admin_port, cluster, sessions) -> None:
    call(cluster, sessions, "verify-recovery", "GET", DEPLOYMENT)
    call(cluster, sessions, "verify-recovery", "GET", DEPLOYMENT)
    call(cluster, sessions, "verify-recovery", "GET", "/apis/storage.loft.sh/v1/networkpeers")
    call(cluster, sessions, "verify-recovery", "PATCH", DEPLOYMENT, {"spec": {"replicas": 0}})
    code, report = admin(admin_port, "GET", f"/clusters/{cluster.name}/rbac")
    assert code == 200
    used = {
        (g["subject"]["name"], g["verb"], g["resource"], g["name"]): g["used"]
        for g in report["grants"]
        if g["used"]
    }
    assert used == {
        ("platform-failover-read", "get", "deployments", "loft"): 2,
        ("platform-failover-read", "list", "networkpeers", None): 1,
    }
    assert report["refused"] == [
        {
            "user": session_of("verify-recovery"),
            "verb": "patch",
            "api_group": "apps",
            "resource": "deployments",
            "name": "loft",
            "namespace": "vcluster-platform",
            "path": None,
            "count": 1,
        }
    ]
    assert (report["namespace"], report["deployment"]) == ("vcluster-platform", "loft")


def test_access_entries_are_listed_and_set_through_the_admin_api(admin_port, cluster, sessions) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/env-confirm-outage"
    body = {"principalArn": role, "kubernetesGroups": ["platform-failover-read"]}
    code, entry = admin(admin_port, "POST", f"/clusters/{cluster.name}/access-entries", body)
    assert (code, entry["kubernetesGroups"]) == (200, ["platform-failover-read"])
    assert call(cluster, sessions, "confirm-outage", "GET", DEPLOYMENT)[0] == 200
    code, listed = admin(admin_port, "GET", f"/clusters/{cluster.name}/access-entries")
    principals = [e["principalArn"] for e in listed["accessEntries"]]
    assert access.LOCAL_CLOUD_USER in principals and role in principals
    code, error = admin(
        admin_port,
        "POST",
        f"/clusters/{cluster.name}/access-entries",
        {"principalArn": role, "kubernetesGroups": ["system:masters"]},
    )
    assert (code, error) == (
        400,
        {"error": "kubernetesGroups: 'system:masters': EKS does not allow groups starting with system:"},
    )
