"""The EKS token check: what botocore (``aws eks get-token``) makes passes,
everything else is refused with a reason that never quotes the token."""

import base64
import calendar
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi.eks_token import AuthError, verify_token  # noqa: E402

CLUSTER = "kt-us-east-1"


class UnsignedPayloadQueryAuth(SigV4QueryAuth):
    """A signer that does not hash the (empty) body, as some SDKs presign."""

    def payload(self, request):
        return "UNSIGNED-PAYLOAD"


def presigned_url(
    cluster: str,
    region: str = "us-east-1",
    secret: str = "testing",
    expires: int = 60,
    session_token: str | None = None,
    signer: type[SigV4QueryAuth] = SigV4QueryAuth,
) -> str:
    """What ``aws eks get-token`` presigns: GetCallerIdentity with the cluster name signed in."""
    host = "sts.amazonaws.com" if region == "global" else f"sts.{region}.amazonaws.com"
    request = AWSRequest(
        method="GET",
        url=f"https://{host}/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"x-k8s-aws-id": cluster},
    )
    signing_region = "us-east-1" if region == "global" else region
    credentials = Credentials("testing", secret, session_token)
    signer(credentials, "sts", signing_region, expires=expires).add_auth(request)
    return request.url


def bearer(url: str) -> str:
    return "Bearer k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def with_params(url: str, **changes: str | None) -> str:
    """The URL with parameters replaced (None: removed), the signature left as it was."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    for key, value in changes.items():
        key = key.replace("_", "-")
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return parts._replace(query=urlencode(params)).geturl()


def refusal(authorization: str | None, cluster: str = CLUSTER, now: float | None = None) -> str:
    with pytest.raises(AuthError) as caught:
        verify_token(authorization, cluster, now)
    return str(caught.value)


def test_a_token_made_by_botocore_for_the_cluster_passes():
    verify_token(bearer(presigned_url(CLUSTER)), CLUSTER)


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2"])
def test_a_regional_sts_host_passes_when_the_scope_names_its_region(region):
    verify_token(bearer(presigned_url(CLUSTER, region)), CLUSTER)


def test_the_global_sts_host_means_us_east_1():
    verify_token(bearer(presigned_url(CLUSTER, "global")), CLUSTER)


def test_an_unsigned_payload_hash_passes_too():
    verify_token(bearer(presigned_url(CLUSTER, signer=UnsignedPayloadQueryAuth)), CLUSTER)


def test_a_session_token_is_part_of_what_is_signed():
    # Lambda's credentials are temporary: their token travels in the URL.
    url = presigned_url(CLUSTER, session_token="session-secret-value")
    assert "X-Amz-Security-Token=session-secret-value" in url
    verify_token(bearer(url), CLUSTER)
    changed = with_params(url, **{"X-Amz-Security-Token": "another-session"})
    assert "signature does not match" in refusal(bearer(changed))


def test_a_token_for_another_cluster_fails_the_signature():
    message = refusal(bearer(presigned_url("someone-elses-cluster")))
    assert message == (
        f"the EKS token's signature does not match for cluster {CLUSTER} "
        "(made for another cluster, or with other credentials)"
    )


def test_a_token_signed_with_another_secret_fails_the_signature():
    assert "signature does not match" in refusal(bearer(presigned_url(CLUSTER, secret="not-the-secret")))


def test_a_changed_signature_fails():
    url = presigned_url(CLUSTER)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert "signature does not match" in refusal(bearer(with_params(url, **{"X-Amz-Signature": flipped})))


def test_a_changed_parameter_fails_the_signature():
    url = with_params(presigned_url(CLUSTER, expires=60), **{"X-Amz-Expires": "900"})
    assert "signature does not match" in refusal(bearer(url))


def test_an_expired_token_names_when_it_expired():
    url = presigned_url(CLUSTER, expires=60)
    signed = dict(parse_qsl(urlsplit(url).query))["X-Amz-Date"]
    issued = calendar.timegm(time.strptime(signed, "%Y%m%dT%H%M%SZ"))
    # Within the 5 s of clock skew it still passes; past it, it does not.
    verify_token(bearer(url), CLUSTER, now=issued + 64)
    message = refusal(bearer(url), now=issued + 66)
    expired_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued + 60))
    assert message == f"the EKS token expired at {expired_at}"


def test_a_token_dated_more_than_five_minutes_ahead_is_refused():
    url = presigned_url(CLUSTER)
    message = refusal(bearer(url), now=time.time() - 400)
    assert message == "X-Amz-Date is more than 5 minutes in the future"


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "no Authorization header"),
        ("", "no Authorization header"),
        ("Basic dXNlcjpwYXNz", "not a bearer token"),
        ("Bearer", "not a bearer token"),
        ("Bearer hello", "not an EKS token (it must start with k8s-aws-v1.)"),
        ("Bearer k8s-aws-v1.not+base64/url=", "not base64url without padding"),
        ("Bearer k8s-aws-v1.bm90IGEgdXJs", "not a presigned STS URL"),
        (bearer("https://evil.example.com/?Action=GetCallerIdentity"), "its host is evil.example.com"),
        (bearer("http://sts.amazonaws.com/?Action=GetCallerIdentity"), "not a presigned STS URL"),
        (bearer("https://sts.amazonaws.com/other?Action=GetCallerIdentity"), "the path / and no fragment"),
        (bearer("https://sts.amazonaws.com/?Action=GetCallerIdentity"), "lacks version, x-amz-algorithm"),
    ],
)
def test_malformed_tokens_are_refused_with_the_reason(authorization, reason):
    assert reason in refusal(authorization)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"Action": "AssumeRole"}, "not for Action=GetCallerIdentity"),
        ({"Version": "2020-01-01"}, "not for Version=2011-06-15"),
        ({"X-Amz-Algorithm": "AWS4-HMAC-SHA1"}, "not signed with AWS4-HMAC-SHA256"),
        ({"X-Amz-Credential": "testing/20260101/us-east-1/sts"}, "X-Amz-Credential is not"),
        ({"X-Amz-Date": "yesterday"}, "X-Amz-Date is not YYYYMMDDTHHMMSSZ"),
        ({"X-Amz-Expires": "901"}, "X-Amz-Expires must be 1..900 seconds"),
        ({"X-Amz-Expires": "0"}, "X-Amz-Expires must be 1..900 seconds"),
        ({"X-Amz-SignedHeaders": "host"}, "does not sign the header x-k8s-aws-id"),
        ({"X-Amz-SignedHeaders": "x-k8s-aws-id"}, "does not sign the header host"),
        ({"X-Amz-SignedHeaders": "host;x-k8s-aws-id;x-extra"}, "cannot be checked: x-extra"),
        ({"X-Amz-Signature": "abc"}, "X-Amz-Signature is not 64 hex digits"),
        ({"X-Amz-Signature": None}, "lacks x-amz-signature"),
        ({"Extra": "1"}, "unexpected parameter Extra"),
    ],
)
def test_a_presigned_url_with_a_wrong_parameter_is_refused(changes, reason):
    assert reason in refusal(bearer(with_params(presigned_url(CLUSTER), **changes)))


def test_the_credential_scope_must_match_the_sts_hosts_region():
    url = presigned_url(CLUSTER, "eu-west-1").replace("sts.eu-west-1.", "sts.us-west-2.")
    assert refusal(bearer(url)) == (
        "the credential scope's region eu-west-1 does not match the STS host's region us-west-2"
    )


def test_the_scope_date_must_be_the_signing_date():
    url = presigned_url(CLUSTER)
    credential = dict(parse_qsl(urlsplit(url).query))["X-Amz-Credential"].split("/")
    credential[1] = "20000101"
    message = refusal(bearer(with_params(url, **{"X-Amz-Credential": "/".join(credential)})))
    assert message == "the credential scope's date does not match X-Amz-Date"


def test_an_unknown_access_key_is_named_as_such():
    url = presigned_url(CLUSTER)
    credential = dict(parse_qsl(urlsplit(url).query))["X-Amz-Credential"].replace("testing/", "AKIAOTHER/", 1)
    assert "access key the local cloud does not know" in refusal(
        bearer(with_params(url, **{"X-Amz-Credential": credential}))
    )


def test_a_repeated_parameter_is_refused():
    url = presigned_url(CLUSTER) + "&Action=GetCallerIdentity"
    assert refusal(bearer(url)) == "the EKS token URL has the parameter Action twice"


@pytest.mark.parametrize(
    "url",
    [
        presigned_url("someone-elses-cluster"),
        with_params(presigned_url(CLUSTER), **{"X-Amz-Security-Token": "session-secret-value"}),
        with_params(presigned_url(CLUSTER), **{"X-Amz-Signature": "f" * 63}),
        with_params(presigned_url(CLUSTER), **{"X-Amz-Expires": "99999"}),
    ],
)
def test_no_refusal_quotes_the_token_its_signature_or_its_security_token(url):
    params = dict(parse_qsl(urlsplit(url).query))
    token = bearer(url).split(" ", 1)[1]
    message = refusal(bearer(url))
    for secret in (token, token[len("k8s-aws-v1.") :], params["X-Amz-Signature"], "session-secret-value"):
        assert secret not in message
