"""Who signed an EKS token, as EKS learns it from STS: the local cloud's own
static key, or a role session's temporary credentials (only with their own
session token, until they expire); and the access entries that map a
principal to a Kubernetes user and groups."""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi import access  # noqa: E402
from kubeapi.eks_token import AuthError, verify_token  # noqa: E402

CLUSTER = "kt-us-east-1"
ROLE = "arn:aws:iam::123456789012:role/env-restore-platform"
SESSION = "arn:aws:sts::123456789012:assumed-role/env-restore-platform/env-restore-platform"
KEY, SECRET, SESSION_TOKEN = "ASIAEXAMPLE0001", "role-secret-value", "role-session-token-value"


def bearer(key: str, secret: str, session_token: str | None, cluster: str = CLUSTER) -> str:
    request = AWSRequest(
        method="GET",
        url="https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"x-k8s-aws-id": cluster},
    )
    SigV4QueryAuth(Credentials(key, secret, session_token), "sts", "us-east-1", expires=60).add_auth(request)
    return "Bearer k8s-aws-v1." + base64.urlsafe_b64encode(request.url.encode()).decode().rstrip("=")


@pytest.fixture
def sessions() -> Iterator[dict[str, access.Credential]]:
    """Temporary credentials as moto's STS would issue them, by access key."""
    issued: dict[str, access.Credential] = {
        KEY: access.Credential(
            secret=SECRET,
            session_token=SESSION_TOKEN,
            expires_at=time.time() + 3600,
            caller=access.Caller(SESSION, ROLE, "123456789012", "env-restore-platform"),
        )
    }
    access.use_temporary_credentials(issued.get)
    yield issued
    access.use_temporary_credentials(None)


def refusal(authorization: str) -> str:
    with pytest.raises(AuthError) as caught:
        verify_token(authorization, CLUSTER)
    return str(caught.value)


def test_the_local_clouds_own_key_is_its_user_the_clusters_creator() -> None:
    caller = verify_token(bearer("testing", "testing", None), CLUSTER)
    assert caller == access.Caller(access.LOCAL_CLOUD_USER, access.LOCAL_CLOUD_USER, "123456789012")


def test_a_role_sessions_token_is_that_role_session(sessions) -> None:
    caller = verify_token(bearer(KEY, SECRET, SESSION_TOKEN), CLUSTER)
    assert (caller.arn, caller.principal_arn, caller.session_name) == (SESSION, ROLE, "env-restore-platform")


@pytest.mark.parametrize(
    ("key", "secret", "session_token", "says"),
    [
        (KEY, SECRET, None, "signed with temporary credentials but carries no X-Amz-Security-Token"),
        (KEY, SECRET, "another-session-token", "is not the session token of its access key"),
        (KEY, "not-the-secret", SESSION_TOKEN, "signature does not match"),
        ("ASIAUNKNOWN", SECRET, SESSION_TOKEN, "access key the local cloud does not know"),
    ],
)
def test_temporary_credentials_pass_only_whole_and_unchanged(
    sessions, key, secret, session_token, says
) -> None:
    message = refusal(bearer(key, secret, session_token))
    assert says in message
    for secret_part in (SECRET, SESSION_TOKEN, "another-session-token"):
        assert secret_part not in message


def test_expired_temporary_credentials_are_refused(sessions) -> None:
    sessions[KEY] = access.Credential(
        secret=SECRET,
        session_token=SESSION_TOKEN,
        expires_at=time.time() - 1,
        caller=sessions[KEY].caller,
    )
    assert "the credentials that signed the EKS token expired at" in refusal(
        bearer(KEY, SECRET, SESSION_TOKEN)
    )


def test_without_a_lookup_no_temporary_key_is_known() -> None:
    access.use_temporary_credentials(None)
    assert "does not know" in refusal(bearer(KEY, SECRET, SESSION_TOKEN))


# --- access entries --------------------------------------------------------------


def test_a_roles_entry_names_its_sessions_as_eks_does() -> None:
    entry = access.access_entry_from(
        {"principalArn": ROLE, "kubernetesGroups": ["platform-failover-restore"]}
    )
    assert entry.username == "arn:aws:sts::123456789012:assumed-role/env-restore-platform/{{SessionName}}"
    caller = access.Caller(SESSION, ROLE, "123456789012", "env-restore-platform")
    user = entry.user(caller)
    assert user == access.User(SESSION, ("platform-failover-restore", "system:authenticated"))
    assert entry.as_json() == {
        "principalArn": ROLE,
        "kubernetesGroups": ["platform-failover-restore"],
        "username": "arn:aws:sts::123456789012:assumed-role/env-restore-platform/{{SessionName}}",
        "type": "STANDARD",
    }


def test_the_creator_is_cluster_admin_and_in_no_group() -> None:
    entry = access.creator_entry()
    user = entry.user(access.Caller(access.LOCAL_CLOUD_USER, access.LOCAL_CLOUD_USER, "123456789012"))
    assert (user.name, user.groups, user.cluster_admin) == (
        access.LOCAL_CLOUD_USER,
        ("system:authenticated",),
        True,
    )
    assert entry.as_json()["accessPolicies"] == ["AmazonEKSClusterAdminPolicy"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([], "expected {"),
        ({"principalArn": "arn:aws:iam::123:role/x"}, "expected an IAM role or user ARN"),
        ({"principalArn": SESSION}, "expected an IAM role or user ARN"),
        ({"principalArn": ROLE, "kubernetesGroups": "g"}, "kubernetesGroups must be a list of strings"),
        ({"principalArn": ROLE, "kubernetesGroups": ["system:masters"]}, "groups starting with system:"),
        ({"principalArn": ROLE, "kubernetesGroups": ["a b"]}, "'a b' is not a group name"),
        ({"principalArn": ROLE, "username": "system:admin"}, "username 'system:admin'"),
        ({"principalArn": ROLE, "groups": ["g"]}, "unknown field groups"),
    ],
)
def test_an_access_entry_eks_would_refuse_is_refused_naming_the_field(body, says) -> None:
    with pytest.raises(access.AccessError) as caught:
        access.access_entry_from(body)
    assert says in str(caught.value)
