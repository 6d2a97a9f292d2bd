"""The launcher's function identities, against moto's own IAM and STS: a
function gets STS credentials of its role, and a token signed with them is
that role session and nothing else."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto import mock_aws

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kubeapi  # noqa: E402
import launcher  # noqa: E402
import moto_patches  # noqa: E402
from kubeapi.eks_token import AuthError, verify_token  # noqa: E402

ENV = "idtest"
ROLE = f"arn:aws:iam::123456789012:role/{ENV}-restore-platform"


@pytest.fixture
def moto() -> Iterator[None]:
    with mock_aws():
        iam = boto3.client(
            "iam", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        iam.create_role(RoleName=f"{ENV}-restore-platform", AssumeRolePolicyDocument=json.dumps({}))
        kubeapi.use_temporary_credentials(launcher.temporary_credential)
        yield
        kubeapi.use_temporary_credentials(None)


def bearer(credentials: dict, cluster: str = "c", token: str | None = None) -> str:
    request = AWSRequest(
        method="GET",
        url="https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"x-k8s-aws-id": cluster},
    )
    signing = Credentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], token or credentials["Token"]
    )
    SigV4QueryAuth(signing, "sts", "us-east-1", expires=60).add_auth(request)
    return "Bearer k8s-aws-v1." + base64.urlsafe_b64encode(request.url.encode()).decode().rstrip("=")


def test_a_function_runs_as_its_role_and_its_token_is_that_role_session(moto) -> None:
    issued = launcher.function_credentials(ENV, "restore-platform")
    assert issued["AccessKeyId"].startswith("ASIA")
    assert issued["RoleArn"] == ROLE
    assert issued["Expiration"].endswith("Z")
    caller = verify_token(bearer(issued), "c")
    session = f"arn:aws:sts::123456789012:assumed-role/{ENV}-restore-platform/{ENV}-restore-platform"
    assert (caller.arn, caller.principal_arn, caller.session_name) == (
        session,
        ROLE,
        f"{ENV}-restore-platform",
    )
    with pytest.raises(AuthError, match="is not the session token"):
        verify_token(bearer(issued, token="a-session-token-of-someone-else"), "c")


def test_each_call_is_a_new_session_of_the_same_role(moto) -> None:
    first = launcher.function_credentials(ENV, "restore-platform")
    second = launcher.function_credentials(ENV, "restore-platform")
    assert first["AccessKeyId"] != second["AccessKeyId"]
    assert verify_token(bearer(first), "c").principal_arn == verify_token(bearer(second), "c").principal_arn


def test_a_function_without_a_role_gets_an_error_naming_the_fix(moto) -> None:
    with pytest.raises(kubeapi.AdminError) as caught:
        launcher.function_credentials(ENV, "verify-recovery")
    assert caught.value.code == 404
    assert str(caught.value) == (
        f"function verify-recovery of environment {ENV} has no role {ENV}-verify-recovery "
        f"(scripts/local-cloud provision --name {ENV} creates one per function)"
    )


def test_a_key_sts_never_issued_is_unknown(moto) -> None:
    assert launcher.temporary_credential("ASIANEVERISSUED") is None


def test_the_moto_internals_the_identities_read_are_checked_by_name(monkeypatch) -> None:
    launcher.check_identity_api()
    from moto.sts.models import STSBackend

    monkeypatch.delattr(STSBackend, "get_assumed_role_from_access_key")
    with pytest.raises(
        moto_patches.MotoPatchError, match="STSBackend.get_assumed_role_from_access_key is gone"
    ):
        launcher.check_identity_api()
