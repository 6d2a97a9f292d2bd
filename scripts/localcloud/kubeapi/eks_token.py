"""EKS bearer tokens: the check every Kubernetes request passes first.

A request carries ``Authorization: Bearer k8s-aws-v1.<b64>`` where ``<b64>``
is base64url without padding of a presigned STS ``GetCallerIdentity`` URL, as
``aws eks get-token`` and the adapter's ``eks_token`` make it:

- host ``sts.<region>.amazonaws.com`` (or ``sts.amazonaws.com`` = us-east-1),
  which must match the credential scope's region; path ``/``;
- only the parameters Action=GetCallerIdentity, Version=2011-06-15,
  X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential, X-Amz-Date,
  X-Amz-Expires (1..900), X-Amz-SignedHeaders (``host`` and ``x-k8s-aws-id``;
  no other header), X-Amz-Signature and an optional X-Amz-Security-Token, in
  any order, none twice;
- not expired (X-Amz-Date + X-Amz-Expires >= now - 5 s), X-Amz-Date at most
  5 min ahead;
- the access key is one the local cloud knows (``access``: its static
  ``testing`` key, or temporary credentials moto's STS issued for a role);
  temporary credentials only with their own X-Amz-Security-Token and until
  they expire, as STS checks them;
- the SigV4 signature, recomputed for that GET with header ``x-k8s-aws-id`` =
  THIS cluster's name and that key's secret, matches; the payload hash may be
  that of the empty body (botocore, ``aws eks get-token``) or
  ``UNSIGNED-PAYLOAD``. A token made for another cluster fails the signature.

``verify_token`` answers who signed it (``access.Caller``), as EKS learns it
from STS. ``AuthError`` says what was wrong; its message never contains the
token nor any part of its signature or security token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from . import access
from .clock import rfc3339

TOKEN_PREFIX = "k8s-aws-v1."
MAX_EXPIRES = 900
EXPIRY_SKEW = 5
FUTURE_SKEW = 300
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_STS_HOST = re.compile(r"sts(?:\.([a-z]{2}(?:-[a-z]+)+-\d+))?\.amazonaws\.com")
_REQUIRED_PARAMS = (
    "action",
    "version",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-signedheaders",
    "x-amz-signature",
)
_KNOWN_PARAMS = {*_REQUIRED_PARAMS, "x-amz-security-token"}
_CHECKABLE_HEADERS = {"host", "x-k8s-aws-id"}


class AuthError(Exception):
    """Why a bearer token was refused (never contains the token)."""


@dataclass
class _PresignedUrl:
    host: str
    host_region: str
    # As signed: original spelling and order, for the canonical query.
    pairs: list[tuple[str, str]]
    # Lower-cased names, for the checks.
    params: dict[str, str]


def verify_token(authorization: str | None, cluster: str, now: float | None = None) -> access.Caller:
    """Who signed ``authorization``'s EKS token for ``cluster``; AuthError unless it is valid."""
    now = time.time() if now is None else now
    url = _presigned_url(authorization)
    params = url.params
    _check_request(params)
    access_key, scope = _credential_scope(params["x-amz-credential"], url.host_region)
    _check_time(params, scope[0], now)
    signed_headers = _signed_headers(params["x-amz-signedheaders"])
    signature = params["x-amz-signature"].lower()
    if not re.fullmatch(r"[0-9a-f]{64}", signature):
        raise AuthError("X-Amz-Signature is not 64 hex digits")
    known = access.credential(access_key)
    if known is None:
        raise AuthError(
            "the EKS token was signed with an access key the local cloud does not know "
            "(its own testing/testing, or a function role's credentials from the local cloud)"
        )
    if known.session_token is not None:
        _check_session(params.get("x-amz-security-token"), known, now)
    header_values = {"host": url.host, "x-k8s-aws-id": cluster}
    for payload_hash in (EMPTY_SHA256, "UNSIGNED-PAYLOAD"):
        expected = _signature(
            known.secret, scope, params["x-amz-date"], url.pairs, header_values, signed_headers, payload_hash
        )
        if hmac.compare_digest(expected, signature):
            return known.caller
    raise AuthError(
        f"the EKS token's signature does not match for cluster {cluster} "
        "(made for another cluster, or with other credentials)"
    )


def _check_session(token: str | None, known: access.Credential, now: float) -> None:
    if token is None:
        raise AuthError(
            "the EKS token was signed with temporary credentials but carries no X-Amz-Security-Token"
        )
    if not hmac.compare_digest(token.encode(), (known.session_token or "").encode()):
        raise AuthError("the EKS token's X-Amz-Security-Token is not the session token of its access key")
    if known.expires_at is not None and known.expires_at < now:
        ended = rfc3339(dt.datetime.fromtimestamp(known.expires_at, dt.UTC))
        raise AuthError(f"the credentials that signed the EKS token expired at {ended}")


def _presigned_url(authorization: str | None) -> _PresignedUrl:
    if not authorization:
        raise AuthError("no Authorization header (expected: Bearer k8s-aws-v1.<token>)")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("the Authorization header is not a bearer token")
    if not token.startswith(TOKEN_PREFIX):
        raise AuthError(f"the bearer token is not an EKS token (it must start with {TOKEN_PREFIX})")
    encoded = token[len(TOKEN_PREFIX) :]
    if not re.fullmatch(r"[A-Za-z0-9_-]+", encoded):
        raise AuthError("the EKS token is not base64url without padding")
    try:
        parts = urlsplit(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuthError("the EKS token does not decode to a URL") from exc

    host = parts.netloc.lower()
    match = _STS_HOST.fullmatch(host)
    if parts.scheme != "https" or match is None:
        raise AuthError(
            "the EKS token is not a presigned STS URL (https://sts.<region>.amazonaws.com/); "
            f"its host is {host or 'missing'}"
        )
    if parts.path not in ("", "/") or parts.fragment:
        raise AuthError("the EKS token URL must have the path / and no fragment")

    pairs: list[tuple[str, str]] = []
    params: dict[str, str] = {}
    for item in parts.query.split("&"):
        if not item:
            continue
        raw_key, _, raw_value = item.partition("=")
        key, value = unquote(raw_key), unquote(raw_value)
        lowered = key.lower()
        if lowered not in _KNOWN_PARAMS:
            raise AuthError(f"the EKS token URL has an unexpected parameter {key}")
        if lowered in params:
            raise AuthError(f"the EKS token URL has the parameter {key} twice")
        params[lowered] = value
        pairs.append((key, value))
    missing = [p for p in _REQUIRED_PARAMS if p not in params]
    if missing:
        raise AuthError("the EKS token URL lacks " + ", ".join(missing))
    return _PresignedUrl(host, match.group(1) or "us-east-1", pairs, params)


def _check_request(params: dict[str, str]) -> None:
    if params["action"] != "GetCallerIdentity":
        raise AuthError("the EKS token URL is not for Action=GetCallerIdentity")
    if params["version"] != "2011-06-15":
        raise AuthError("the EKS token URL is not for Version=2011-06-15")
    if params["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
        raise AuthError("the EKS token URL is not signed with AWS4-HMAC-SHA256")


def _credential_scope(credential: str, host_region: str) -> tuple[str, list[str]]:
    """(access key, [date, region, "sts", "aws4_request"])."""
    scope = credential.split("/")
    if len(scope) != 5 or scope[3] != "sts" or scope[4] != "aws4_request" or not scope[0]:
        raise AuthError("X-Amz-Credential is not <key>/<date>/<region>/sts/aws4_request")
    if scope[2] != host_region:
        raise AuthError(
            f"the credential scope's region {scope[2]} does not match the STS host's region {host_region}"
        )
    return scope[0], scope[1:]


def _check_time(params: dict[str, str], scope_date: str, now: float) -> None:
    amz_date = params["x-amz-date"]
    try:
        signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise AuthError("X-Amz-Date is not YYYYMMDDTHHMMSSZ") from exc
    if scope_date != amz_date[:8]:
        raise AuthError("the credential scope's date does not match X-Amz-Date")
    expires = params["x-amz-expires"]
    if not expires.isdigit() or not 1 <= int(expires) <= MAX_EXPIRES:
        raise AuthError(f"X-Amz-Expires must be 1..{MAX_EXPIRES} seconds")
    issued = signed_at.timestamp()
    if issued > now + FUTURE_SKEW:
        raise AuthError("X-Amz-Date is more than 5 minutes in the future")
    if issued + int(expires) + EXPIRY_SKEW < now:
        ended = rfc3339(dt.datetime.fromtimestamp(issued + int(expires), dt.UTC))
        raise AuthError(f"the EKS token expired at {ended}")


def _signed_headers(value: str) -> list[str]:
    signed = value.lower().split(";")
    if "x-k8s-aws-id" not in signed:
        raise AuthError("the EKS token does not sign the header x-k8s-aws-id (the cluster name)")
    if "host" not in signed:
        raise AuthError("the EKS token does not sign the header host")
    others = sorted(set(signed) - _CHECKABLE_HEADERS)
    if others:
        raise AuthError("the EKS token signs headers that cannot be checked: " + ", ".join(others))
    return sorted(set(signed))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _sigv4_quote(text: str) -> str:
    return quote(text, safe="-_.~")


def _signature(
    secret: str,
    scope: list[str],
    amz_date: str,
    pairs: list[tuple[str, str]],
    header_values: dict[str, str],
    signed_headers: list[str],
    payload_hash: str,
) -> str:
    """The SigV4 signature of ``GET /?<pairs>`` as STS would compute it."""
    query = "&".join(
        f"{k}={v}"
        for k, v in sorted(
            (_sigv4_quote(k), _sigv4_quote(v)) for k, v in pairs if k.lower() != "x-amz-signature"
        )
    )
    header_block = "".join(f"{name}:{header_values[name]}\n" for name in signed_headers)
    canonical = f"GET\n/\n{query}\n{header_block}\n{';'.join(signed_headers)}\n{payload_hash}"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, "/".join(scope), hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret).encode()
    for part in scope:
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
