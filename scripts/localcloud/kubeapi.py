"""Local Kubernetes API servers, one per EKS cluster, and their admin API.

Imported by ``launcher.py``, which runs it in the moto process: every EKS
cluster created through the real EKS API (``CreateCluster``, any region) gets
its own emulated Kubernetes API server, and the launcher's ``DescribeCluster``
override answers that server's endpoint and CA. A cluster deleted through
``DeleteCluster`` (or a moto reset) stops its server. Python stdlib plus
``cryptography`` only.

Kubernetes API (one per cluster)
================================

HTTPS on 127.0.0.1, a free port (``https://127.0.0.1:<port>``), HTTP/1.1
with keep-alive, TLS 1.2+ (ALPN ``http/1.1``). Each cluster has a fresh CA
(EC P-256, CN ``kubernetes``, 10 years) and a server certificate signed by it
(CN ``kube-apiserver``, SAN IP:127.0.0.1, DNS:localhost, DNS:kubernetes...,
1 year). ``DescribeCluster`` answers ``certificateAuthority.data`` = base64 of
the CA's PEM, as EKS does, so clients verify TLS against it.

Authentication, on every request: ``Authorization: Bearer k8s-aws-v1.<b64>``
where ``<b64>`` is base64url without padding of a presigned STS
``GetCallerIdentity`` URL (``aws eks get-token``): host
``sts.<region>.amazonaws.com`` (or ``sts.amazonaws.com`` = us-east-1, which
must match the credential scope's region), path ``/``, only the parameters
Action=GetCallerIdentity, Version=2011-06-15, X-Amz-Algorithm=AWS4-HMAC-SHA256,
X-Amz-Credential, X-Amz-Date, X-Amz-Expires (1..900), X-Amz-SignedHeaders
(``host`` and ``x-k8s-aws-id``; no other header), X-Amz-Signature and an
optional X-Amz-Security-Token, in any order, none twice. Not expired
(X-Amz-Date + X-Amz-Expires >= now - 5 s), X-Amz-Date at most 5 min ahead.
The SigV4 signature is recomputed for that GET with header ``x-k8s-aws-id``
= THIS cluster's name, with the local credentials (access key ``testing``,
secret ``testing``); the payload hash may be that of the empty body (botocore,
``aws eks get-token``) or ``UNSIGNED-PAYLOAD``. A token for another cluster
fails the signature. Anything wrong answers 401 with a Kubernetes Status
(reason ``Unauthorized``) whose message says what was wrong; the token is
never logged nor echoed. One log line per request: cluster, method, path,
status.

Paths (JSON; anything else 404 ``NotFound``, a known path with another
method 405 ``MethodNotAllowed``, always as a ``Status``):

- ``GET /version`` (gitVersion v1.31.0); ``GET /healthz``, ``/livez``,
  ``/readyz`` (``ok``).
- ``GET|PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}``: apps/v1
  Deployment. PATCH takes ``application/merge-patch+json`` (RFC 7386) or
  ``application/strategic-merge-patch+json`` (the same, except that lists of
  objects with a ``name`` merge by name, like containers); any other type
  415. ``metadata.resourceVersion`` in a patch is a precondition (409 if
  stale); ``?dryRun=All`` answers without storing. Status is the
  controller's; a changed spec bumps ``metadata.generation``.
- ``GET|PUT|PATCH .../deployments/{name}/scale``: autoscaling/v1 Scale.
- ``GET /api/v1/namespaces/{ns}/pods``: PodList; ``labelSelector`` with
  ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k`` (comma = and); ``fieldSelector``
  with ``=``, ``==``, ``!=`` on dotted paths (``status.phase``,
  ``spec.nodeName``, ``metadata.name``).
- ``GET /api/v1/nodes``: NodeList (Ready True / False).
- ``GET /apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name}``.
- ``GET /apis/storage.loft.sh/v1/networkpeers`` (NetworkPeerList) and
  ``.../networkpeers/{name}``: ``status.online`` present (true) only when
  online, ``status.lastSeen``, ``status.homeDerpRegion``.

The platform lives in namespace ``vcluster-platform``: deployment ``loft``
(selector ``app=loft``, container ``manager``), its pods, ingress ``loft``.
Watches (``?watch=true``) are not supported (400).

The controller a test plays: the scenario
=========================================

Each cluster has a scenario (JSON); defaults in brackets:

``cluster_status`` ["ACTIVE"]
    what ``DescribeCluster`` answers as ``cluster.status``.
``deployment`` {``exists`` [true], ``replicas`` [3], ``paused`` [false],
``image`` ["ghcr.io/loft-sh/vcluster-platform:4.8.0"]}
    the deployment's spec; ``exists: false`` answers 404
    (``deployments.apps "loft" not found``) and there are no pods.
``pods`` ["ready"]
    what the current pods look like: ``ready`` (Running, Ready),
    ``crashloop`` (Running, not ready, waiting ``CrashLoopBackOff``,
    restartCount >= 5), ``imagepull`` (Pending, waiting
    ``ImagePullBackOff``), ``configerror`` (Pending, waiting
    ``CreateContainerConfigError``), ``pending`` (Pending, PodScheduled False
    ``Unschedulable``, no node).
``after_restart`` ["ready"]
    what the pods look like after the controller acts: one mode, or a list
    used one per action (the last sticks).
``nodes`` {``ready`` [3], ``not_ready`` [0]}
``ingress`` {``exists`` [true], ``hostname``
["k8s-vclusterplatform-loft-1234567890.<region>.elb.amazonaws.com"]}
    ``"hostname": ""``: no load balancer (``status.loadBalancer: {}``).
``peers`` [[{"name": "<cluster>-peer-1", "online": true, "homeDerpRegion": 900}]]
    NetworkPeers; ``lastSeen`` optional (default: now when online, 10 minutes
    ago when not).

The controller acts when the Kubernetes API changes the deployment's
``spec.template`` (a rollout restart sets the annotation
``kubectl.kubernetes.io/restartedAt``) or ``spec.replicas`` (also through
``/scale``): all pods are replaced by ``spec.replicas`` new ones (new names)
in the next ``after_restart`` mode, ``scenario.pods`` becomes that mode, and
the status follows at once (``observedGeneration`` = ``generation``,
``updatedReplicas`` = replicas). A scale to 0 consumes no ``after_restart``
value. While ``spec.paused`` is true a template change is not rolled out
(Progressing ``DeploymentPaused``) until it is unpaused. Deployment status
follows the pods: ready/available counts (zero counts omitted, as the API
server does), Available ``MinimumReplicasAvailable`` /
``MinimumReplicasUnavailable``, Progressing ``NewReplicaSetAvailable`` when
every pod is updated and ready, else False ``ProgressDeadlineExceeded``.
Changes made through the Kubernetes API show in ``scenario.deployment``.

Admin API (tests and drills)
============================

Plain HTTP on 127.0.0.1:``LOCAL_CLOUD_KUBE_ADMIN_PORT`` (4568), JSON in and
out, errors ``{"error": "..."}``. ``{name}`` is the EKS cluster name; add
``?region=R`` if the name exists in two regions.

``GET /clusters``
    ``{"clusters": [{name, region, account, endpoint, certificate_authority_data, cluster_status}]}``
``GET /clusters/{name}``
    that entry.
``GET /clusters/{name}/scenario``
    the full scenario.
``PUT /clusters/{name}/scenario`` (a scenario; missing keys take defaults)
    replaces the scenario and starts the cluster over from it: a fresh
    deployment (generation 1), fresh pods in mode ``pods``, the
    ``after_restart`` list from its start. Answers the state.
``PATCH /clusters/{name}/scenario`` (a JSON merge patch of the scenario)
    merges: ``pods`` re-labels the current pods, ``deployment`` fields
    change the spec (``image`` means new pods, ``exists`` removes /
    recreates the deployment), ``after_restart`` restarts its list.
    Answers the state.
``GET /clusters/{name}/state``
    ``{cluster, scenario, summary, deployment, pods, rollouts, faults}``;
    ``summary`` is the short view (generation, observedGeneration, counts,
    each pod's name / phase / ready / reason).
``POST /clusters/{name}/faults``
    ``{"status": 500, "count": 2}``: the next 2 Kubernetes requests answer
    500 with a Status body (429 and 503 add ``Retry-After: 1``);
    ``{"delay_seconds": 3, "count": 1}``: the next request waits 3 s, then
    answers normally (both keys: wait, then the status). Optional ``method``
    and ``path_prefix`` restrict which requests a fault takes. Faults queue
    in order and come before authentication. Answers ``{"faults": [...]}``.
``GET /clusters/{name}/faults``, ``DELETE /clusters/{name}/faults``
    the pending faults / clear them.
``GET /clusters/{name}/requests``
    ``{"requests": [{time, method, path, query, content_type, body, status,
    auth, auth_error, fault, user_agent}]}``: every Kubernetes request, oldest
    first (the last 10000); ``body`` for PATCH/PUT/POST (JSON when it parses);
    never the token.
``DELETE /clusters/{name}/requests``
    clears the log; answers ``{"cleared": N}``.

The same port serves the routes other modules add (``EXTRA_ROUTES``): the
launcher's Lambda emulator registry, ``GET /lambda``, ``GET|PUT|DELETE
/lambda/{environment}`` (see ``launcher.py``).
"""

from __future__ import annotations

import base64
import collections
import copy
import datetime as dt
import hashlib
import hmac
import http.server
import ipaddress
import json
import logging
import math
import os
import re
import secrets
import socket
import ssl
import tempfile
import threading
import time
import uuid
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger("local-cloud.kube")

HOST = "127.0.0.1"

NAMESPACE = "vcluster-platform"
DEPLOYMENT = "loft"
INGRESS = "loft"
CONTAINER = "manager"
SELECTOR = {"app": "loft"}
GIT_VERSION = "v1.31.0"

# Access key id -> secret the local cloud signs with (endpoints.env).
CREDENTIALS = {"testing": "testing"}
TOKEN_PREFIX = "k8s-aws-v1."
MAX_EXPIRES = 900
EXPIRY_SKEW = 5
FUTURE_SKEW = 300
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

MODES = ("ready", "crashloop", "imagepull", "configerror", "pending")
CLUSTER_STATUSES = ("CREATING", "ACTIVE", "DELETING", "FAILED", "UPDATING", "PENDING")
MAX_BODY = 1 << 20
REQUEST_LOG_SIZE = 10000

# Kubernetes' rand.SafeEncodeString alphabet (pod-template-hash, pod suffixes).
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def status_body(code: int, message: str, reason: str | None = None, details: dict | None = None) -> dict:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or REASONS.get(code, "InternalError" if code >= 500 else "BadRequest"),
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class ApiError(Exception):
    """A Kubernetes API error answered as a Status."""

    def __init__(self, code: int, message: str, reason: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.body = status_body(code, message, reason, details)


def not_found(resource: str, name: str) -> ApiError:
    kind, _, group = resource.partition(".")
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return ApiError(404, f'{resource} "{name}" not found', "NotFound", details)


def merge_patch(target: Any, patch: Any, strategic: bool = False) -> Any:
    """RFC 7386; with ``strategic``, lists of named objects merge by name."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if strategic and key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif strategic and value and _named_list(value) and _named_list(result.get(key)):
            merged = {item["name"]: item for item in result[key]}
            order = [item["name"] for item in result[key]]
            for item in value:
                if item.get("$patch") == "delete":
                    merged.pop(item["name"], None)
                    continue
                if item["name"] not in merged:
                    order.append(item["name"])
                merged[item["name"]] = merge_patch(merged.get(item["name"], {}), item, strategic)
            result[key] = [merged[name] for name in order if name in merged]
        else:
            result[key] = merge_patch(result.get(key), value, strategic)
    return result


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in value
    )


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def template_hash(template: dict) -> str:
    """pod-template-hash as Kubernetes spells it (FNV-32a, safe alphabet)."""
    digits = str(fnv32a(json.dumps(template, sort_keys=True).encode()))
    return "".join(ALPHABET[ord(c) % len(ALPHABET)] for c in digits)


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _percent_or_int(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        share = int(value[:-1]) * total / 100
        return math.ceil(share) if round_up else math.floor(share)
    return 0


def max_unavailable(spec: dict) -> int:
    strategy = spec.get("strategy") or {}
    replicas = spec.get("replicas", 1)
    if strategy.get("type", "RollingUpdate") != "RollingUpdate" or replicas == 0:
        return 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = _percent_or_int(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _percent_or_int(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return min(unavailable, replicas)


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------


def make_certificates(cluster: str) -> tuple[bytes, bytes, bytes]:
    """(CA PEM, server certificate PEM, server key PEM), EC P-256."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    names = [
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default"),
        x509.DNSName("kubernetes.default.svc"),
        x509.DNSName("kubernetes.default.svc.cluster.local"),
        x509.IPAddress(ipaddress.ip_address(HOST)),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return ca_cert.public_bytes(pem), cert.public_bytes(pem), key_pem


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="local-cloud-kube-") as folder:
        cert_file = os.path.join(folder, "tls.crt")
        key_file = os.path.join(folder, "tls.key")
        with open(cert_file, "wb") as handle:
            handle.write(cert_pem)
        with open(os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
            handle.write(key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context


# ---------------------------------------------------------------------------
# EKS token check
# ---------------------------------------------------------------------------


class AuthError(Exception):
    """Why a bearer token was refused (never contains the token)."""


_STS_HOST = re.compile(r"sts(?:\.([a-z]{2}(?:-[a-z]+)+-\d+))?\.amazonaws\.com")
_TOKEN_PARAMS = {
    "action",
    "version",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-signedheaders",
}
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


def _sigv4_quote(text: str) -> str:
    return quote(text, safe="-_.~")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def verify_token(authorization: str | None, cluster: str, now: float | None = None) -> None:
    """Raises AuthError unless ``authorization`` carries a valid EKS token for ``cluster``."""
    now = time.time() if now is None else now
    if not authorization:
        raise AuthError("no Authorization header (expected: Bearer k8s-aws-v1.<token>)")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("the Authorization header is not a bearer token")
    if not token.startswith(TOKEN_PREFIX):
        raise AuthError(f"the bearer token is not an EKS token (it must start with {TOKEN_PREFIX})")
    encoded = token[len(TOKEN_PREFIX):]
    if not re.fullmatch(r"[A-Za-z0-9_-]+", encoded):
        raise AuthError("the EKS token is not base64url without padding")
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
        parts = urlsplit(url)
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
    host_region = match.group(1) or "us-east-1"

    pairs: list[tuple[str, str]] = []
    params: dict[str, str] = {}
    for item in parts.query.split("&"):
        if not item:
            continue
        raw_key, _, raw_value = item.partition("=")
        key, value = unquote(raw_key), unquote(raw_value)
        lowered = key.lower()
        if lowered not in _TOKEN_PARAMS:
            raise AuthError(f"the EKS token URL has an unexpected parameter {key}")
        if lowered in params:
            raise AuthError(f"the EKS token URL has the parameter {key} twice")
        params[lowered] = value
        pairs.append((key, value))
    missing = [p for p in _REQUIRED_PARAMS if p not in params]
    if missing:
        raise AuthError("the EKS token URL lacks " + ", ".join(missing))
    if params["action"] != "GetCallerIdentity":
        raise AuthError("the EKS token URL is not for Action=GetCallerIdentity")
    if params["version"] != "2011-06-15":
        raise AuthError("the EKS token URL is not for Version=2011-06-15")
    if params["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
        raise AuthError("the EKS token URL is not signed with AWS4-HMAC-SHA256")

    scope = params["x-amz-credential"].split("/")
    if len(scope) != 5 or scope[3] != "sts" or scope[4] != "aws4_request" or not scope[0]:
        raise AuthError("X-Amz-Credential is not <key>/<date>/<region>/sts/aws4_request")
    access_key, scope_date, scope_region = scope[0], scope[1], scope[2]
    if scope_region != host_region:
        raise AuthError(
            f"the credential scope's region {scope_region} does not match the STS host's region {host_region}"
        )

    amz_date = params["x-amz-date"]
    try:
        signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
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
        ended = rfc3339(dt.datetime.fromtimestamp(issued + int(expires), dt.timezone.utc))
        raise AuthError(f"the EKS token expired at {ended}")

    signed_headers = params["x-amz-signedheaders"].lower().split(";")
    if "x-k8s-aws-id" not in signed_headers:
        raise AuthError("the EKS token does not sign the header x-k8s-aws-id (the cluster name)")
    if "host" not in signed_headers:
        raise AuthError("the EKS token does not sign the header host")
    others = sorted(set(signed_headers) - {"host", "x-k8s-aws-id"})
    if others:
        raise AuthError("the EKS token signs headers that cannot be checked: " + ", ".join(others))
    signature = params["x-amz-signature"].lower()
    if not re.fullmatch(r"[0-9a-f]{64}", signature):
        raise AuthError("X-Amz-Signature is not 64 hex digits")
    secret = CREDENTIALS.get(access_key)
    if secret is None:
        raise AuthError("the EKS token was signed with an access key the local cloud does not know (use testing/testing)")

    query = "&".join(
        f"{k}={v}"
        for k, v in sorted(
            (_sigv4_quote(k), _sigv4_quote(v)) for k, v in pairs if k.lower() != "x-amz-signature"
        )
    )
    header_values = {"host": host, "x-k8s-aws-id": cluster}
    names = sorted(set(signed_headers))
    header_block = "".join(f"{name}:{header_values[name]}\n" for name in names)
    credential_scope = "/".join(scope[1:])
    key = _hmac(("AWS4" + secret).encode(), scope_date)
    key = _hmac(key, scope_region)
    key = _hmac(key, "sts")
    key = _hmac(key, "aws4_request")
    for payload_hash in (EMPTY_SHA256, "UNSIGNED-PAYLOAD"):
        canonical = f"GET\n/\n{query}\n{header_block}\n{';'.join(names)}\n{payload_hash}"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, credential_scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, signature):
            return
    raise AuthError(
        f"the EKS token's signature does not match for cluster {cluster} "
        "(made for another cluster, or with other credentials)"
    )


# ---------------------------------------------------------------------------
# Scenario
# ---------------------------------------------------------------------------


class ScenarioError(ValueError):
    pass


def default_scenario(cluster: str, region: str) -> dict:
    return {
        "cluster_status": "ACTIVE",
        "deployment": {
            "exists": True,
            "replicas": 3,
            "paused": False,
            "image": "ghcr.io/loft-sh/vcluster-platform:4.8.0",
        },
        "pods": "ready",
        "after_restart": "ready",
        "nodes": {"ready": 3, "not_ready": 0},
        "ingress": {
            "exists": True,
            "hostname": f"k8s-vclusterplatform-loft-1234567890.{region}.elb.amazonaws.com",
        },
        "peers": [{"name": f"{cluster}-peer-1", "online": True, "homeDerpRegion": 900}],
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def complete_scenario(given: Any, cluster: str, region: str) -> dict:
    """Defaults filled in, every value checked (ScenarioError names the first bad one)."""
    if not isinstance(given, dict):
        raise ScenarioError("a scenario is a JSON object")
    defaults = default_scenario(cluster, region)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ScenarioError(f"unknown scenario keys: {', '.join(unknown)} (known: {', '.join(defaults)})")
    scenario = merge_patch(defaults, {k: v for k, v in given.items() if k not in ("peers",)})
    if given.get("peers") is not None:
        scenario["peers"] = copy.deepcopy(given["peers"])

    if scenario["cluster_status"] not in CLUSTER_STATUSES:
        raise ScenarioError(f"cluster_status: one of {', '.join(CLUSTER_STATUSES)}")
    deployment = scenario["deployment"]
    if not isinstance(deployment, dict):
        raise ScenarioError("deployment: an object")
    extra = sorted(set(deployment) - set(defaults["deployment"]))
    if extra:
        raise ScenarioError(f"deployment: unknown keys {', '.join(extra)}")
    if not isinstance(deployment["exists"], bool):
        raise ScenarioError("deployment.exists: true or false")
    if not _is_int(deployment["replicas"]) or deployment["replicas"] < 0:
        raise ScenarioError("deployment.replicas: an integer >= 0")
    if not isinstance(deployment["paused"], bool):
        raise ScenarioError("deployment.paused: true or false")
    if not isinstance(deployment["image"], str) or not deployment["image"]:
        raise ScenarioError("deployment.image: a non-empty string")
    if scenario["pods"] not in MODES:
        raise ScenarioError(f"pods: one of {', '.join(MODES)}")
    after = scenario["after_restart"]
    after_list = after if isinstance(after, list) else [after]
    if not after_list or any(mode not in MODES for mode in after_list):
        raise ScenarioError(f"after_restart: one of {', '.join(MODES)}, or a non-empty list of them")
    nodes = scenario["nodes"]
    if not isinstance(nodes, dict) or set(nodes) - {"ready", "not_ready"}:
        raise ScenarioError("nodes: {\"ready\": N, \"not_ready\": M}")
    for key in ("ready", "not_ready"):
        if not _is_int(nodes[key]) or not 0 <= nodes[key] <= 200:
            raise ScenarioError(f"nodes.{key}: an integer 0..200")
    ingress = scenario["ingress"]
    if not isinstance(ingress, dict) or set(ingress) - {"exists", "hostname"}:
        raise ScenarioError("ingress: {\"exists\": bool, \"hostname\": string or null}")
    if not isinstance(ingress["exists"], bool):
        raise ScenarioError("ingress.exists: true or false")
    if not isinstance(ingress.get("hostname"), str):
        raise ScenarioError('ingress.hostname: a string ("" for no load balancer)')
    peers = scenario["peers"]
    if not isinstance(peers, list):
        raise ScenarioError("peers: a list of {name, online, homeDerpRegion, lastSeen}")
    seen = set()
    for index, peer in enumerate(peers):
        where = f"peers[{index}]"
        if not isinstance(peer, dict) or set(peer) - {"name", "online", "homeDerpRegion", "lastSeen"}:
            raise ScenarioError(f"{where}: an object with name, online, homeDerpRegion, lastSeen")
        if not isinstance(peer.get("name"), str) or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", peer["name"]):
            raise ScenarioError(f"{where}.name: a DNS-1123 name")
        if peer["name"] in seen:
            raise ScenarioError(f"{where}.name: {peer['name']} appears twice")
        seen.add(peer["name"])
        peer.setdefault("online", True)
        peer.setdefault("homeDerpRegion", 900)
        if not isinstance(peer["online"], bool):
            raise ScenarioError(f"{where}.online: true or false")
        if not _is_int(peer["homeDerpRegion"]):
            raise ScenarioError(f"{where}.homeDerpRegion: an integer")
        if "lastSeen" in peer:
            try:
                dt.datetime.strptime(peer["lastSeen"], "%Y-%m-%dT%H:%M:%SZ")
            except (TypeError, ValueError) as exc:
                raise ScenarioError(f"{where}.lastSeen: RFC 3339 UTC, e.g. 2026-01-01T00:00:00Z") from exc
    return scenario


# ---------------------------------------------------------------------------
# One cluster: its objects, its controller, its server
# ---------------------------------------------------------------------------


class KubeCluster:
    def __init__(self, account: str, region: str, name: str):
        self.account = account
        self.region = region
        self.name = name
        self.lock = threading.RLock()
        self.rv = 1000
        self.uids: dict[str, str] = {}
        self.born: dict[str, dt.datetime] = {}
        self.faults: list[dict] = []
        self.fault_ids = 0
        self.requests: collections.deque = collections.deque(maxlen=REQUEST_LOG_SIZE)
        self.scenario = complete_scenario({}, name, region)
        self._start_over()

        ca_pem, cert_pem, key_pem = make_certificates(name)
        self.ca_pem = ca_pem
        self.ca_data = base64.b64encode(ca_pem).decode()
        context = server_context(cert_pem, key_pem)
        self.server = KubeServer((HOST, 0), KubeHandler, self)
        self.server.socket = context.wrap_socket(
            self.server.socket, server_side=True, do_handshake_on_connect=False
        )
        self.port = self.server.server_address[1]
        self.endpoint = f"https://{HOST}:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
            name=f"kube-{name}", daemon=True,
        )
        self.thread.start()

    # --- bookkeeping -----------------------------------------------------

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def uid(self, key: str) -> str:
        return self.uids.setdefault(key, str(uuid.uuid4()))

    def born_at(self, key: str) -> dt.datetime:
        return self.born.setdefault(key, utcnow())

    def entry(self) -> dict:
        return {
            "name": self.name,
            "region": self.region,
            "account": self.account,
            "endpoint": self.endpoint,
            "certificate_authority_data": self.ca_data,
            "cluster_status": self.scenario["cluster_status"],
        }

    # --- the world from the scenario ------------------------------------

    def _start_over(self) -> None:
        self.rollouts = 0
        self.after_index = 0
        self.revision = 1
        self.conditions: dict[str, dict] = {}
        self.scenario_rv = self.next_rv()
        self.deployment: dict | None = None
        self.pods: list[dict] = []
        self.rs_hash = ""
        if self.scenario["deployment"]["exists"]:
            self.deployment = self._fresh_deployment()
            self.rs_hash = template_hash(self.deployment["spec"]["template"])
            self.pods = self._new_pods(self.scenario["pods"])
        self._sync_status()

    def _fresh_deployment(self) -> dict:
        wanted = self.scenario["deployment"]
        created = utcnow()
        self.revision = 1
        spec: dict[str, Any] = {
            "replicas": wanted["replicas"],
            "selector": {"matchLabels": dict(SELECTOR)},
            "template": {
                "metadata": {"labels": {"app": "loft", "release": "loft"}},
                "spec": {
                    "containers": [
                        {
                            "name": CONTAINER,
                            "image": wanted["image"],
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [
                                {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                {"name": "https", "containerPort": 10443, "protocol": "TCP"},
                            ],
                            "resources": {
                                "requests": {"cpu": "200m", "memory": "256Mi"},
                                "limits": {"memory": "2Gi"},
                            },
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File",
                        }
                    ],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 10,
                    "dnsPolicy": "ClusterFirst",
                    "serviceAccountName": "loft",
                    "serviceAccount": "loft",
                    "securityContext": {},
                    "schedulerName": "default-scheduler",
                },
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        }
        if wanted["paused"]:
            spec["paused"] = True
        return {
            "metadata": {
                "name": DEPLOYMENT,
                "namespace": NAMESPACE,
                "uid": str(uuid.uuid4()),
                "resourceVersion": self.next_rv(),
                "generation": 1,
                "creationTimestamp": rfc3339(created),
                "labels": {"app": "loft", "app.kubernetes.io/managed-by": "Helm", "release": "loft"},
                "annotations": {
                    "deployment.kubernetes.io/revision": "1",
                    "meta.helm.sh/release-name": "loft",
                    "meta.helm.sh/release-namespace": NAMESPACE,
                },
            },
            "spec": spec,
        }

    def _node_names(self) -> list[tuple[str, bool]]:
        nodes = self.scenario["nodes"]
        suffix = "ec2.internal" if self.region == "us-east-1" else f"{self.region}.compute.internal"
        names = []
        for index in range(nodes["ready"] + nodes["not_ready"]):
            subnet = (index % 3) * 16 + 1
            host = 20 + (index * 37) % 230
            names.append((f"ip-10-0-{subnet}-{host}.{suffix}", index < nodes["ready"]))
        return names

    def _new_pods(self, mode: str) -> list[dict]:
        if self.deployment is None:
            return []
        spec = self.deployment["spec"]
        template = spec["template"]
        count = spec.get("replicas", 1)
        nodes = [name for name, ready in self._node_names() if ready] or [n for n, _ in self._node_names()]
        created = utcnow()
        used = {pod["name"] for pod in self.pods}
        pods = []
        for index in range(count):
            name = f"loft-{self.rs_hash}-{random_suffix()}"
            while name in used:
                name = f"loft-{self.rs_hash}-{random_suffix()}"
            used.add(name)
            pods.append(
                {
                    "name": name,
                    "uid": str(uuid.uuid4()),
                    "hash": self.rs_hash,
                    "created": created,
                    "mode": mode,
                    "node": nodes[index % len(nodes)] if nodes else None,
                    "ip": f"10.0.{(index % 3) * 16 + 2}.{(secrets.randbelow(200) + 20)}",
                    "restarts": 5 + index % 4,
                    "labels": {**(template.get("metadata") or {}).get("labels", {}), "pod-template-hash": self.rs_hash},
                    "containers": copy.deepcopy(template["spec"].get("containers", [])),
                    "rv": self.next_rv(),
                }
            )
        return pods

    def _take_after_restart(self) -> str:
        after = self.scenario["after_restart"]
        modes = after if isinstance(after, list) else [after]
        mode = modes[min(self.after_index, len(modes) - 1)]
        self.after_index += 1
        return mode

    def _controller(self, replicas_changed: bool) -> None:
        """What the deployment controller does after a spec change."""
        dep = self.deployment
        assert dep is not None
        spec = dep["spec"]
        new_hash = template_hash(spec["template"])
        rollout = new_hash != self.rs_hash and not spec.get("paused")
        if rollout or replicas_changed:
            if rollout:
                self.rs_hash = new_hash
                self.revision += 1
                dep["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = str(self.revision)
            if spec.get("replicas", 1) > 0:
                mode = self._take_after_restart()
                self.scenario["pods"] = mode
            else:
                mode = self.scenario["pods"]
            self.pods = []
            self.pods = self._new_pods(mode)
            self.rollouts += 1
        self._sync_scenario_from_spec()
        self._sync_status()

    def _sync_scenario_from_spec(self) -> None:
        if self.deployment is None:
            return
        spec = self.deployment["spec"]
        containers = spec["template"]["spec"].get("containers") or [{}]
        wanted = self.scenario["deployment"]
        wanted["replicas"] = spec.get("replicas", 1)
        wanted["paused"] = bool(spec.get("paused", False))
        wanted["image"] = containers[0].get("image", wanted["image"])

    def _set_condition(self, kind: str, status: str, reason: str, message: str) -> dict:
        stamp = rfc3339(utcnow())
        old = self.conditions.get(kind)
        if old is not None and old["status"] == status:
            if old["reason"] != reason or old["message"] != message:
                old.update(reason=reason, message=message, lastUpdateTime=stamp)
            return old
        condition = {
            "type": kind,
            "status": status,
            "lastUpdateTime": stamp,
            "lastTransitionTime": stamp,
            "reason": reason,
            "message": message,
        }
        self.conditions[kind] = condition
        return condition

    def _sync_status(self) -> None:
        dep = self.deployment
        if dep is None:
            self.status: dict = {}
            return
        spec = dep["spec"]
        wanted = spec.get("replicas", 1)
        current = template_hash(spec["template"])
        total = len(self.pods)
        updated = sum(1 for pod in self.pods if pod["hash"] == current)
        ready = sum(1 for pod in self.pods if pod["mode"] == "ready")
        status: dict[str, Any] = {"observedGeneration": dep["metadata"]["generation"]}
        for key, value in (
            ("replicas", total),
            ("updatedReplicas", updated),
            ("readyReplicas", ready),
            ("availableReplicas", ready),
            ("unavailableReplicas", max(total - ready, 0)),
        ):
            if value:
                status[key] = value
        if ready >= wanted - max_unavailable(spec):
            available = self._set_condition(
                "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."
            )
        else:
            available = self._set_condition(
                "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
            )
        replica_set = f"{DEPLOYMENT}-{self.rs_hash}"
        if spec.get("paused"):
            progressing = self._set_condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
        elif updated == wanted and total == wanted and ready == wanted:
            progressing = self._set_condition(
                "Progressing", "True", "NewReplicaSetAvailable",
                f'ReplicaSet "{replica_set}" has successfully progressed.',
            )
        else:
            progressing = self._set_condition(
                "Progressing", "False", "ProgressDeadlineExceeded",
                f'ReplicaSet "{replica_set}" has timed out progressing.',
            )
        status["conditions"] = [dict(available), dict(progressing)]
        self.status = status

    def apply_scenario(self, scenario: dict, replace: bool) -> None:
        old = self.scenario
        self.scenario = scenario
        if replace:
            self._start_over()
            return
        self.scenario_rv = self.next_rv()
        if scenario["after_restart"] != old["after_restart"]:
            self.after_index = 0
        wanted = scenario["deployment"]
        if not wanted["exists"]:
            self.deployment, self.pods, self.rs_hash, self.conditions = None, [], "", {}
            self._sync_status()
            return
        if self.deployment is None:
            self.conditions = {}
            self.deployment = self._fresh_deployment()
            self.rs_hash = template_hash(self.deployment["spec"]["template"])
            self.pods = self._new_pods(scenario["pods"])
            self._sync_status()
            return
        dep = self.deployment
        spec = dep["spec"]
        before = copy.deepcopy(spec)
        spec["replicas"] = wanted["replicas"]
        if wanted["paused"]:
            spec["paused"] = True
        else:
            spec.pop("paused", None)
        containers = spec["template"]["spec"].setdefault("containers", [{"name": CONTAINER}])
        containers[0]["image"] = wanted["image"]
        if spec != before:
            dep["metadata"]["generation"] += 1
            dep["metadata"]["resourceVersion"] = self.next_rv()
        new_hash = template_hash(spec["template"])
        if new_hash != self.rs_hash and not spec.get("paused"):
            self.rs_hash = new_hash
            self.revision += 1
            dep["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = str(self.revision)
            self.pods = []
            self.pods = self._new_pods(scenario["pods"])
        elif len(self.pods) != spec["replicas"]:
            keep = self.pods[: spec["replicas"]]
            self.pods = keep
            extra = self._new_pods(scenario["pods"])[len(keep):]
            self.pods = keep + extra
        for pod in self.pods:
            if pod["mode"] != scenario["pods"]:
                pod["mode"] = scenario["pods"]
                pod["rv"] = self.next_rv()
        self._sync_status()

    # --- rendering -------------------------------------------------------

    def render_deployment(self) -> dict:
        if self.deployment is None:
            raise not_found("deployments.apps", DEPLOYMENT)
        body = {"apiVersion": "apps/v1", "kind": "Deployment"}
        body.update(copy.deepcopy(self.deployment))
        body["status"] = copy.deepcopy(self.status)
        return body

    def render_scale(self) -> dict:
        if self.deployment is None:
            raise not_found("deployments.apps", DEPLOYMENT)
        meta = self.deployment["metadata"]
        selector = ",".join(f"{k}={v}" for k, v in self.deployment["spec"]["selector"]["matchLabels"].items())
        replicas = self.deployment["spec"].get("replicas", 1)
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
                "creationTimestamp": meta["creationTimestamp"],
            },
            # ScaleSpec.replicas is omitempty, ScaleStatus.replicas is not.
            "spec": {"replicas": replicas} if replicas else {},
            "status": {"replicas": self.status.get("replicas", 0), "selector": selector},
        }

    def render_pod(self, pod: dict) -> dict:
        mode = pod["mode"]
        created = pod["created"]
        started = created + dt.timedelta(seconds=4)
        replica_set = f"{DEPLOYMENT}-{pod['hash']}"
        containers = copy.deepcopy(pod["containers"]) or [{"name": CONTAINER, "image": self.scenario["deployment"]["image"]}]
        spec: dict[str, Any] = {
            "containers": containers,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 10,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "loft",
            "serviceAccount": "loft",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "enableServiceLinks": True,
            "priority": 0,
            "preemptionPolicy": "PreemptLowerPriority",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
        }
        stamp = rfc3339(created)
        ready_stamp = rfc3339(started + dt.timedelta(seconds=6))
        status: dict[str, Any]
        if mode == "pending" or pod["node"] is None:
            total = sum(self.scenario["nodes"].values())
            status = {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "lastProbeTime": None,
                        "lastTransitionTime": stamp,
                        "reason": "Unschedulable",
                        "message": f"0/{total} nodes are available: {total} Insufficient cpu. "
                        f"preemption: 0/{total} nodes are available: {total} No preemption victims found for incoming pod.",
                    }
                ],
                "qosClass": "Burstable",
            }
        else:
            spec["nodeName"] = pod["node"]
            node_ip = pod["node"].split(".")[0][3:].replace("-", ".")
            running = mode in ("ready", "crashloop")
            ready = mode == "ready"
            not_ready = {"reason": "ContainersNotReady", "message": f"containers with unready status: [{CONTAINER}]"}

            def condition(kind: str, ok: bool, when: str, extra: dict | None = None) -> dict:
                body = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None, "lastTransitionTime": when}
                if not ok and extra:
                    body.update(extra)
                return body

            statuses = []
            for container in containers:
                image = container.get("image", "")
                digest = hashlib.sha256(image.encode()).hexdigest()
                container_id = "containerd://" + hashlib.sha256((pod["uid"] + container["name"]).encode()).hexdigest()
                entry: dict[str, Any] = {
                    "name": container["name"],
                    "image": image,
                    "imageID": "",
                    "ready": ready,
                    "restartCount": 0,
                    "started": ready,
                    "lastState": {},
                }
                if mode == "ready":
                    entry.update(
                        imageID=f"{image.split(':')[0]}@sha256:{digest}",
                        containerID=container_id,
                        state={"running": {"startedAt": rfc3339(started)}},
                    )
                elif mode == "crashloop":
                    last_start = utcnow() - dt.timedelta(seconds=90)
                    entry.update(
                        imageID=f"{image.split(':')[0]}@sha256:{digest}",
                        containerID=container_id,
                        restartCount=pod["restarts"],
                        started=False,
                        state={
                            "waiting": {
                                "reason": "CrashLoopBackOff",
                                "message": f"back-off 5m0s restarting failed container={container['name']} "
                                f"pod={pod['name']}_{NAMESPACE}({pod['uid']})",
                            }
                        },
                        lastState={
                            "terminated": {
                                "exitCode": 1,
                                "reason": "Error",
                                "startedAt": rfc3339(last_start),
                                "finishedAt": rfc3339(last_start + dt.timedelta(seconds=3)),
                                "containerID": container_id,
                            }
                        },
                    )
                elif mode == "imagepull":
                    entry["state"] = {
                        "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
                    }
                else:  # configerror
                    entry["state"] = {
                        "waiting": {"reason": "CreateContainerConfigError", "message": 'secret "loft-license" not found'}
                    }
                statuses.append(entry)
            status = {
                "phase": "Running" if running else "Pending",
                "conditions": [
                    condition("PodReadyToStartContainers", True, rfc3339(started)),
                    condition("Initialized", True, stamp),
                    condition("Ready", ready, ready_stamp, not_ready),
                    condition("ContainersReady", ready, ready_stamp, not_ready),
                    condition("PodScheduled", True, stamp),
                ],
                "hostIP": node_ip,
                "hostIPs": [{"ip": node_ip}],
                "podIP": pod["ip"],
                "podIPs": [{"ip": pod["ip"]}],
                "startTime": stamp,
                "containerStatuses": statuses,
                "qosClass": "Burstable",
            }
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod["name"],
                "generateName": f"{replica_set}-",
                "namespace": NAMESPACE,
                "uid": pod["uid"],
                "resourceVersion": pod["rv"],
                "creationTimestamp": stamp,
                "labels": dict(pod["labels"]),
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": replica_set,
                        "uid": self.uid(f"replicaset/{pod['hash']}"),
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": spec,
            "status": status,
        }

    def render_nodes(self) -> list[dict]:
        items = []
        zones = [f"{self.region}{letter}" for letter in "abc"]
        for index, (name, ready) in enumerate(self._node_names()):
            zone = zones[index % 3]
            created = self.born_at(f"node/{name}")
            stamp = rfc3339(created)
            address = name.split(".")[0][3:].replace("-", ".")
            instance = "i-0" + hashlib.sha256(name.encode()).hexdigest()[:16]
            pressure = [
                {"type": kind, "status": "False", "lastHeartbeatTime": rfc3339(utcnow()), "lastTransitionTime": stamp,
                 "reason": reason, "message": message}
                for kind, reason, message in (
                    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                )
            ]
            if ready:
                readiness = {"status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
            else:
                readiness = {
                    "status": "False",
                    "reason": "KubeletNotReady",
                    "message": "container runtime network not ready: NetworkReady=false "
                    "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
                }
            spec: dict[str, Any] = {"providerID": f"aws:///{zone}/{instance}"}
            if not ready:
                spec["taints"] = [
                    {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule", "timeAdded": stamp},
                    {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": stamp},
                ]
            items.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": name,
                        "uid": self.uid(f"node/{name}"),
                        "resourceVersion": self.scenario_rv,
                        "creationTimestamp": stamp,
                        "labels": {
                            "kubernetes.io/arch": "amd64",
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/hostname": name,
                            "node.kubernetes.io/instance-type": "m6i.large",
                            "topology.kubernetes.io/region": self.region,
                            "topology.kubernetes.io/zone": zone,
                            "eks.amazonaws.com/nodegroup": "platform",
                            "eks.amazonaws.com/capacityType": "ON_DEMAND",
                        },
                    },
                    "spec": spec,
                    "status": {
                        "capacity": {"cpu": "2", "memory": "7910364Ki", "pods": "29", "ephemeral-storage": "20959212Ki"},
                        "allocatable": {"cpu": "1930m", "memory": "7220188Ki", "pods": "29", "ephemeral-storage": "18242267924"},
                        "conditions": pressure + [
                            {"type": "Ready", "lastHeartbeatTime": rfc3339(utcnow()), "lastTransitionTime": stamp, **readiness}
                        ],
                        "addresses": [
                            {"type": "InternalIP", "address": address},
                            {"type": "InternalDNS", "address": name},
                            {"type": "Hostname", "address": name},
                        ],
                        "nodeInfo": {
                            "machineID": hashlib.md5(name.encode()).hexdigest(),  # noqa: S324 - an id, not security
                            "systemUUID": self.uid(f"node-system/{name}"),
                            "bootID": self.uid(f"node-boot/{name}"),
                            "kernelVersion": "6.1.112-124.190.amzn2023.x86_64",
                            "osImage": "Amazon Linux 2023.6.20241031",
                            "containerRuntimeVersion": "containerd://1.7.22",
                            "kubeletVersion": "v1.31.0-eks-a737599",
                            "kubeProxyVersion": "v1.31.0-eks-a737599",
                            "operatingSystem": "linux",
                            "architecture": "amd64",
                        },
                    },
                }
            )
        return items

    def render_ingress(self, name: str) -> dict:
        wanted = self.scenario["ingress"]
        if name != INGRESS or not wanted["exists"]:
            raise not_found("ingresses.networking.k8s.io", name)
        hostname = wanted.get("hostname")
        load_balancer = {"ingress": [{"hostname": hostname}]} if hostname else {}
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": INGRESS,
                "namespace": NAMESPACE,
                "uid": self.uid("ingress/loft"),
                "resourceVersion": self.scenario_rv,
                "generation": 1,
                "creationTimestamp": rfc3339(self.born_at("ingress/loft")),
                "labels": {"app": "loft", "app.kubernetes.io/managed-by": "Helm", "release": "loft"},
                "annotations": {
                    "alb.ingress.kubernetes.io/scheme": "internet-facing",
                    "alb.ingress.kubernetes.io/target-type": "ip",
                    "meta.helm.sh/release-name": "loft",
                    "meta.helm.sh/release-namespace": NAMESPACE,
                },
            },
            "spec": {
                "ingressClassName": "alb",
                "rules": [
                    {
                        "host": f"platform.{self.region}.example.test",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "loft", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
            "status": {"loadBalancer": load_balancer},
        }

    def render_peers(self) -> list[dict]:
        items = []
        for peer in self.scenario["peers"]:
            key = f"networkpeer/{peer['name']}"
            status: dict[str, Any] = {}
            if peer["online"]:
                status["online"] = True
            status["lastSeen"] = peer.get("lastSeen") or rfc3339(
                utcnow() if peer["online"] else utcnow() - dt.timedelta(minutes=10)
            )
            status["homeDerpRegion"] = peer["homeDerpRegion"]
            items.append(
                {
                    "apiVersion": "storage.loft.sh/v1",
                    "kind": "NetworkPeer",
                    "metadata": {
                        "name": peer["name"],
                        "uid": self.uid(key),
                        "resourceVersion": self.scenario_rv,
                        "generation": 1,
                        "creationTimestamp": rfc3339(self.born_at(key)),
                    },
                    "spec": {},
                    "status": status,
                }
            )
        return items

    def serves_platform(self) -> tuple[bool, str]:
        """Whether the platform answers from this cluster, and why (not).

        What a Route 53 health check of the region sees (the launcher's
        ``Platform`` health value): the cluster is ``ACTIVE``, the deployment
        exists and at least one of its pods is ready.
        """
        with self.lock:
            status = self.scenario["cluster_status"]
            if status != "ACTIVE":
                return False, f"cluster status {status}"
            if self.deployment is None:
                return False, f"no deployment {DEPLOYMENT}"
            ready = sum(1 for pod in self.pods if pod["mode"] == "ready" and pod["node"] is not None)
            if ready == 0:
                modes = sorted({pod["mode"] for pod in self.pods})
                return False, f"no pod ready ({len(self.pods)} pods: {', '.join(modes) or 'none'})"
            return True, f"{ready} of {len(self.pods)} pods ready"

    def summary(self) -> dict:
        pods = []
        for pod in self.pods:
            rendered = self.render_pod(pod)
            statuses = rendered["status"].get("containerStatuses") or []
            reason = None
            if statuses and "waiting" in statuses[0].get("state", {}):
                reason = statuses[0]["state"]["waiting"]["reason"]
            elif rendered["status"]["phase"] == "Pending":
                reason = "Unschedulable"
            pods.append(
                {
                    "name": pod["name"],
                    "phase": rendered["status"]["phase"],
                    "ready": pod["mode"] == "ready",
                    "reason": reason,
                    "mode": pod["mode"],
                }
            )
        if self.deployment is None:
            deployment = None
        else:
            meta, spec, status = self.deployment["metadata"], self.deployment["spec"], self.status
            deployment = {
                "generation": meta["generation"],
                "observedGeneration": status.get("observedGeneration", 0),
                "replicas": spec.get("replicas", 1),
                "paused": bool(spec.get("paused", False)),
                "image": (spec["template"]["spec"].get("containers") or [{}])[0].get("image"),
                "restartedAt": ((spec["template"].get("metadata") or {}).get("annotations") or {}).get(
                    "kubectl.kubernetes.io/restartedAt"
                ),
                "readyReplicas": status.get("readyReplicas", 0),
                "updatedReplicas": status.get("updatedReplicas", 0),
                "conditions": {c["type"]: f"{c['status']} {c['reason']}" for c in status.get("conditions", [])},
            }
        return {"deployment": deployment, "pods": pods, "rollouts": self.rollouts}

    def state(self) -> dict:
        with self.lock:
            return {
                "cluster": self.entry(),
                "scenario": copy.deepcopy(self.scenario),
                "summary": self.summary(),
                "deployment": self.render_deployment() if self.deployment is not None else None,
                "pods": [self.render_pod(pod) for pod in self.pods],
                "rollouts": self.rollouts,
                "faults": copy.deepcopy(self.faults),
            }

    # --- faults ----------------------------------------------------------

    def add_fault(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise ScenarioError("a fault is a JSON object: {\"status\": 500, \"count\": 2} or {\"delay_seconds\": 3}")
        unknown = sorted(set(body) - {"status", "delay_seconds", "count", "method", "path_prefix"})
        if unknown:
            raise ScenarioError(f"unknown fault keys: {', '.join(unknown)}")
        status, delay = body.get("status"), body.get("delay_seconds")
        count = body.get("count", 1)
        if status is None and delay is None:
            raise ScenarioError("a fault needs status and/or delay_seconds")
        if status is not None and (not _is_int(status) or not 400 <= status <= 599):
            raise ScenarioError("status: an HTTP status 400..599")
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 600):
            raise ScenarioError("delay_seconds: a number 0..600")
        if not _is_int(count) or count < 1:
            raise ScenarioError("count: an integer >= 1")
        for key in ("method", "path_prefix"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise ScenarioError(f"{key}: a string")
        self.fault_ids += 1
        self.faults.append(
            {
                "id": self.fault_ids,
                "status": status,
                "delay_seconds": delay,
                "remaining": count,
                "method": body["method"].upper() if body.get("method") else None,
                "path_prefix": body.get("path_prefix"),
            }
        )

    def take_fault(self, method: str, path: str) -> dict | None:
        with self.lock:
            for fault in self.faults:
                if fault["method"] and fault["method"] != method:
                    continue
                if fault["path_prefix"] and not path.startswith(fault["path_prefix"]):
                    continue
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    self.faults.remove(fault)
                return dict(fault)
        return None

    # --- Kubernetes requests ---------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], content_type: str, body: bytes) -> tuple[int, Any]:
        """(status, JSON body or text) for one authenticated request."""
        if query.get("watch") in ("true", "1"):
            raise ApiError(400, "watch is not supported by the local Kubernetes API; poll with GET")
        if path in ("/healthz", "/livez", "/readyz"):
            self._only(method, "GET")
            return 200, "ok"
        if path in ("/version", "/version/"):
            self._only(method, "GET")
            return 200, {
                "major": "1",
                "minor": "31",
                "gitVersion": GIT_VERSION,
                "gitCommit": "a1e8ed2d2b8ae3a3e4f2b8f1e5c0e9b7c2d6f0a1",
                "gitTreeState": "clean",
                "buildDate": "2024-08-13T07:28:49Z",
                "goVersion": "go1.22.5",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        match = re.fullmatch(r"/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)(/scale)?", path)
        if match:
            namespace, name, scale = match.group(1), match.group(2), bool(match.group(3))
            with self.lock:
                if namespace != NAMESPACE or name != DEPLOYMENT or self.deployment is None:
                    self._only(method, "GET", "PATCH", "PUT" if scale else "GET")
                    raise not_found("deployments.apps", name)
                dry_run = query.get("dryRun") == "All"
                if scale:
                    return self._scale(method, content_type, body, dry_run)
                return self._deployment(method, content_type, body, dry_run)
        match = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods", path)
        if match:
            self._only(method, "GET")
            with self.lock:
                pods = [self.render_pod(pod) for pod in self.pods] if match.group(1) == NAMESPACE else []
                pods = select(pods, query.get("labelSelector", ""), query.get("fieldSelector", ""))
                return 200, {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": str(self.rv)}, "items": pods}
        if path == "/api/v1/nodes":
            self._only(method, "GET")
            with self.lock:
                nodes = select(self.render_nodes(), query.get("labelSelector", ""), query.get("fieldSelector", ""))
                return 200, {"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": str(self.rv)}, "items": nodes}
        match = re.fullmatch(r"/apis/networking\.k8s\.io/v1/namespaces/([^/]+)/ingresses/([^/]+)", path)
        if match:
            self._only(method, "GET")
            with self.lock:
                if match.group(1) != NAMESPACE:
                    raise not_found("ingresses.networking.k8s.io", match.group(2))
                return 200, self.render_ingress(match.group(2))
        if path == "/apis/storage.loft.sh/v1/networkpeers":
            self._only(method, "GET")
            with self.lock:
                peers = select(self.render_peers(), query.get("labelSelector", ""), query.get("fieldSelector", ""))
                return 200, {
                    "apiVersion": "storage.loft.sh/v1",
                    "kind": "NetworkPeerList",
                    "metadata": {"resourceVersion": str(self.rv)},
                    "items": peers,
                }
        match = re.fullmatch(r"/apis/storage\.loft\.sh/v1/networkpeers/([^/]+)", path)
        if match:
            self._only(method, "GET")
            with self.lock:
                for peer in self.render_peers():
                    if peer["metadata"]["name"] == match.group(1):
                        return 200, peer
            raise not_found("networkpeers.storage.loft.sh", match.group(1))
        raise ApiError(404, "the server could not find the requested resource", "NotFound")

    @staticmethod
    def _only(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ApiError(405, f"the server does not allow this method on the requested resource ({method})", "MethodNotAllowed")

    @staticmethod
    def _json_body(body: bytes) -> Any:
        try:
            return json.loads(body.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, f"error decoding the request body as JSON: {exc}") from exc

    @staticmethod
    def _patch_kind(content_type: str) -> bool:
        """True for a strategic merge patch; ApiError 415 for anything but the two merge patches."""
        if content_type == "application/strategic-merge-patch+json":
            return True
        if content_type == "application/merge-patch+json":
            return False
        raise ApiError(
            415,
            f"the body of the request was in an unknown format ({content_type or 'no Content-Type'}) - "
            "accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json",
            "UnsupportedMediaType",
        )

    def _conflict(self) -> ApiError:
        return ApiError(
            409,
            f'Operation cannot be fulfilled on deployments.apps "{DEPLOYMENT}": the object has been modified; '
            "please apply your changes to the latest version and try again",
            "Conflict",
            {"name": DEPLOYMENT, "group": "apps", "kind": "deployments"},
        )

    def _invalid(self, field: str, message: str) -> ApiError:
        return ApiError(
            422,
            f'Deployment.apps "{DEPLOYMENT}" is invalid: {field}: {message}',
            "Invalid",
            {"name": DEPLOYMENT, "group": "apps", "kind": "Deployment", "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]},
        )

    def _deployment(self, method: str, content_type: str, body: bytes, dry_run: bool) -> tuple[int, Any]:
        self._only(method, "GET", "PATCH")
        if method == "GET":
            return 200, self.render_deployment()
        strategic = self._patch_kind(content_type)
        patch = self._json_body(body)
        if not isinstance(patch, dict):
            raise ApiError(400, "the patch must be a JSON object")
        assert self.deployment is not None
        meta = self.deployment["metadata"]
        wanted_rv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch.get("metadata"), dict) else None
        if wanted_rv is not None and wanted_rv != meta["resourceVersion"]:
            raise self._conflict()
        current = {"metadata": copy.deepcopy(meta), "spec": copy.deepcopy(self.deployment["spec"])}
        merged = merge_patch(current, {k: v for k, v in patch.items() if k in ("metadata", "spec")}, strategic)
        new_meta = merged.get("metadata") if isinstance(merged.get("metadata"), dict) else {}
        for key in ("name", "namespace"):
            if new_meta.get(key, meta[key]) != meta[key]:
                raise ApiError(400, f"the {key} of the object ({new_meta.get(key)}) does not match the {key} on the URL ({meta[key]})")
        for key in ("name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion"):
            new_meta[key] = meta[key]
        spec = merged.get("spec")
        self._validate_spec(spec)
        if spec.get("paused") is False:
            del spec["paused"]
        return self._store(new_meta, spec, dry_run, self.render_deployment)

    def _validate_spec(self, spec: Any) -> None:
        if not isinstance(spec, dict):
            raise self._invalid("spec", "Required value")
        spec.setdefault("replicas", 1)
        replicas = spec["replicas"]
        if not _is_int(replicas):
            raise ApiError(400, "spec.replicas: expected an integer")
        if replicas < 0:
            raise self._invalid("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")
        if "paused" in spec and not isinstance(spec["paused"], bool):
            raise ApiError(400, "spec.paused: expected a boolean")
        assert self.deployment is not None
        if spec.get("selector") != self.deployment["spec"]["selector"]:
            raise self._invalid("spec.selector", "Invalid value: field is immutable")
        template = spec.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
            raise self._invalid("spec.template", "Required value")
        labels = (template.get("metadata") or {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
            raise self._invalid("spec.template.metadata.labels", "Invalid value: `selector` does not match template `labels`")
        containers = template["spec"].get("containers")
        if not isinstance(containers, list) or not containers:
            raise self._invalid("spec.template.spec.containers", "Required value")
        for index, container in enumerate(containers):
            if not isinstance(container, dict) or not isinstance(container.get("name"), str) or not container.get("name"):
                raise self._invalid(f"spec.template.spec.containers[{index}].name", "Required value")
            if not isinstance(container.get("image"), str) or not container.get("image"):
                raise self._invalid(f"spec.template.spec.containers[{index}].image", "Required value")

    def _store(self, new_meta: dict, spec: dict, dry_run: bool, render: Any) -> tuple[int, Any]:
        assert self.deployment is not None
        old_spec = self.deployment["spec"]
        spec_changed = spec != old_spec
        replicas_changed = spec.get("replicas", 1) != old_spec.get("replicas", 1)
        if dry_run:
            saved = (copy.deepcopy(self.deployment), copy.deepcopy(self.status), copy.deepcopy(self.conditions))
        meta_changed = {k: v for k, v in new_meta.items() if k != "resourceVersion"} != {
            k: v for k, v in self.deployment["metadata"].items() if k != "resourceVersion"
        }
        self.deployment = {"metadata": new_meta, "spec": spec}
        if spec_changed:
            new_meta["generation"] += 1
        if spec_changed or meta_changed:
            new_meta["resourceVersion"] = self.next_rv()
        if dry_run:
            self._sync_status()
            answer = render()
            self.deployment, self.status, self.conditions = saved
            return 200, answer
        if spec_changed:
            self._controller(replicas_changed)
            self.deployment["metadata"]["resourceVersion"] = self.next_rv()
        return 200, render()

    def _scale(self, method: str, content_type: str, body: bytes, dry_run: bool) -> tuple[int, Any]:
        self._only(method, "GET", "PATCH", "PUT")
        if method == "GET":
            return 200, self.render_scale()
        current = self.render_scale()
        if method == "PUT":
            incoming = self._json_body(body)
            if not isinstance(incoming, dict):
                raise ApiError(400, "the body must be an autoscaling/v1 Scale object")
            merged = incoming
        else:
            strategic = self._patch_kind(content_type)
            patch = self._json_body(body)
            if not isinstance(patch, dict):
                raise ApiError(400, "the patch must be a JSON object")
            merged = merge_patch(current, patch, strategic)
        meta = merged.get("metadata") if isinstance(merged.get("metadata"), dict) else {}
        if meta.get("name", DEPLOYMENT) != DEPLOYMENT:
            raise ApiError(400, f"the name of the object ({meta.get('name')}) does not match the name on the URL ({DEPLOYMENT})")
        if meta.get("resourceVersion") not in (None, "", current["metadata"]["resourceVersion"]):
            raise self._conflict()
        replicas = (merged.get("spec") or {}).get("replicas", 0) if isinstance(merged.get("spec"), dict) else 0
        if not _is_int(replicas):
            raise ApiError(400, "spec.replicas: expected an integer")
        if replicas < 0:
            raise ApiError(
                422,
                f'Scale.autoscaling "{DEPLOYMENT}" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0',
                "Invalid",
            )
        assert self.deployment is not None
        spec = copy.deepcopy(self.deployment["spec"])
        spec["replicas"] = replicas
        return self._store(copy.deepcopy(self.deployment["metadata"]), spec, dry_run, self.render_scale)


# ---------------------------------------------------------------------------
# Selectors
# ---------------------------------------------------------------------------

_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


def _label_terms(selector: str) -> list[tuple[str, str, str]]:
    terms = []
    for raw in selector.split(","):
        term = raw.strip()
        if not term:
            continue
        if "(" in term or ")" in term or " in " in f" {term} " or " notin " in f" {term} ":
            raise ApiError(400, f"unable to parse requirement: set-based selectors are not supported here: {term}")
        for op in ("!=", "==", "="):
            if op in term:
                key, _, value = term.partition(op)
                key, value = key.strip(), value.strip()
                if not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
                    raise ApiError(400, f"unable to parse requirement: invalid label selector term: {term}")
                terms.append((key, "!=" if op == "!=" else "=", value))
                break
        else:
            key = term[1:].strip() if term.startswith("!") else term
            if not _LABEL_KEY.fullmatch(key):
                raise ApiError(400, f"unable to parse requirement: invalid label selector term: {term}")
            terms.append((key, "!" if term.startswith("!") else "exists", ""))
    return terms


def _field(obj: dict, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def select(items: list[dict], label_selector: str, field_selector: str) -> list[dict]:
    labels_terms = _label_terms(label_selector)
    field_terms = []
    for raw in field_selector.split(","):
        term = raw.strip()
        if not term:
            continue
        for op in ("!=", "==", "="):
            if op in term:
                key, _, value = term.partition(op)
                field_terms.append((key.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise ApiError(400, f"invalid field selector: {term}")

    def keep(item: dict) -> bool:
        labels = item.get("metadata", {}).get("labels") or {}
        for key, op, value in labels_terms:
            if op == "=" and labels.get(key) != value:
                return False
            if op == "!=" and labels.get(key) == value:
                return False
            if op == "exists" and key not in labels:
                return False
            if op == "!" and key in labels:
                return False
        for key, op, value in field_terms:
            if (_field(item, key) == value) != (op == "="):
                return False
        return True

    return [item for item in items if keep(item)]


# ---------------------------------------------------------------------------
# HTTPS server of one cluster
# ---------------------------------------------------------------------------


class KubeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, cluster: KubeCluster):
        self.cluster = cluster
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.warning("kube %s: connection from %s failed", self.cluster.name, client_address, exc_info=True)


def _read_body(handler: http.server.BaseHTTPRequestHandler) -> bytes:
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks = []
        total = 0
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            total += size
            if total > MAX_BODY:
                raise ApiError(413, "the request body is too large", "RequestEntityTooLarge")
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length") or 0)
    if length > MAX_BODY:
        raise ApiError(413, "the request body is too large", "RequestEntityTooLarge")
    return handler.rfile.read(length) if length > 0 else b""


class _Dispatching(http.server.BaseHTTPRequestHandler):
    """Every method goes to ``_serve``, which answers 405 where one does not
    apply; requests are logged by ``_serve``, not by the stdlib."""

    def _serve(self) -> None:
        raise NotImplementedError

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()


class KubeHandler(_Dispatching):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver"
    sys_version = ""
    timeout = 120
    server: KubeServer

    def setup(self) -> None:
        super().setup()
        # Headers and body are two writes: without this, delayed ACKs add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            self.connection.do_handshake()  # in this thread, not in accept()
        except (ssl.SSLError, OSError) as exc:
            log.info("kube %s: TLS handshake failed: %s", self.server.cluster.name, exc)
            self.close_connection = True
            return
        super().handle()

    def _serve(self) -> None:
        cluster = self.server.cluster
        method = self.command
        parts = urlsplit(self.path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        record: dict[str, Any] = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "method": method,
            "path": path,
            "query": query,
            "content_type": content_type or None,
            "body": None,
            "status": None,
            "auth": False,
            "auth_error": None,
            "fault": False,
            "user_agent": self.headers.get("User-Agent"),
        }
        headers: dict[str, str] = {}
        try:
            body = _read_body(self)
            if method in ("PATCH", "PUT", "POST"):
                try:
                    record["body"] = json.loads(body.decode("utf-8")) if body else None
                except (UnicodeDecodeError, json.JSONDecodeError):
                    record["body"] = body.decode("utf-8", "replace")
            fault = cluster.take_fault(method, path)
            if fault and fault["delay_seconds"]:
                time.sleep(fault["delay_seconds"])
            if fault and fault["status"]:
                record["fault"] = True
                code = fault["status"]
                if code in (429, 503):
                    headers["Retry-After"] = "1"
                raise ApiError(code, f"injected fault: the local Kubernetes API answers {code} (admin API faults)")
            try:
                verify_token(self.headers.get("Authorization"), cluster.name)
            except AuthError as exc:
                record["auth_error"] = str(exc)
                raise ApiError(401, str(exc), "Unauthorized") from None
            record["auth"] = True
            code, answer = cluster.handle(method, path, query, content_type, body)
        except ApiError as exc:
            code, answer = exc.code, exc.body
        except (ValueError, OSError) as exc:
            code, answer = 400, status_body(400, f"malformed request: {exc}")
            self.close_connection = True
        except Exception:  # noqa: BLE001 - answer 500 rather than drop the connection
            log.exception("kube %s: %s %s failed", cluster.name, method, path)
            code, answer = 500, status_body(500, "Internal error occurred: the local Kubernetes API failed (see moto.log)")
        record["status"] = code
        with cluster.lock:
            cluster.requests.append(record)
        log.info("kube %s %s %s -> %d", cluster.name, method, path, code)
        if isinstance(answer, str):
            payload, kind = answer.encode(), "text/plain; charset=utf-8"
        else:
            payload, kind = dumps(answer), "application/json"
        try:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Audit-Id", str(uuid.uuid4()))
            for key, value in headers.items():
                self.send_header(key, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True


# ---------------------------------------------------------------------------
# Registry (what the launcher's EKS hooks use)
# ---------------------------------------------------------------------------


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clusters: dict[tuple[str, str, str], KubeCluster] = {}

    def create(self, account: str, region: str, name: str) -> KubeCluster:
        cluster = KubeCluster(account, region, name)
        with self._lock:
            old = self._clusters.pop((account, region, name), None)
            self._clusters[(account, region, name)] = cluster
        if old is not None:
            old.stop()
        log.info("kube %s (%s): Kubernetes API on %s", name, region, cluster.endpoint)
        return cluster

    def get(self, account: str, region: str, name: str) -> KubeCluster | None:
        with self._lock:
            return self._clusters.get((account, region, name))

    def remove(self, account: str, region: str, name: str) -> None:
        with self._lock:
            cluster = self._clusters.pop((account, region, name), None)
        if cluster is not None:
            threading.Thread(target=cluster.stop, daemon=True).start()
            log.info("kube %s (%s): stopped", name, region)

    def remove_region(self, account: str, region: str) -> None:
        with self._lock:
            keys = [key for key in self._clusters if key[0] == account and key[1] == region]
        for key in keys:
            self.remove(*key)

    def find(self, name: str, region: str | None = None) -> list[KubeCluster]:
        with self._lock:
            return [
                cluster
                for (_, cluster_region, cluster_name), cluster in self._clusters.items()
                if cluster_name == name and (region is None or cluster_region == region)
            ]

    def all(self) -> list[KubeCluster]:
        with self._lock:
            return list(self._clusters.values())

    def stop_all(self) -> None:
        with self._lock:
            clusters = list(self._clusters.values())
            self._clusters.clear()
        for cluster in clusters:
            cluster.stop()


REGISTRY = Registry()


# ---------------------------------------------------------------------------
# Admin API
# ---------------------------------------------------------------------------


class AdminError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


# Routes another module serves on this admin port (one port for every admin
# call a test makes): first path segment -> handler(method, the segments
# after it, a function that reads the JSON body) answering (status, JSON);
# it raises AdminError for an error answer. The launcher adds ``lambda``.
AdminRoute = Callable[[str, list[str], Callable[[], Any]], tuple[int, Any]]
EXTRA_ROUTES: dict[str, AdminRoute] = {}


class AdminHandler(_Dispatching):
    server_version = "local-cloud-kube-admin"
    sys_version = ""
    timeout = 60

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise AdminError(413, "body too large")
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            return json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AdminError(400, f"the body is not JSON: {exc}") from exc

    def _cluster(self, name: str, region: str | None) -> KubeCluster:
        found = REGISTRY.find(name, region)
        if not found:
            names = sorted(c.name for c in REGISTRY.all())
            known = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
            raise AdminError(404, f"no cluster {name}" + (f" in {region}" if region else "") + f" (clusters: {known or 'none'}; GET /clusters)")
        if len(found) > 1:
            regions = ", ".join(sorted(c.region for c in found))
            raise AdminError(409, f"cluster {name} exists in {regions}: add ?region=")
        return found[0]

    def _serve(self) -> None:
        method = self.command
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        segments = [unquote(s) for s in parts.path.strip("/").split("/") if s]
        try:
            code, answer = self._route(method, segments, query.get("region"))
        except AdminError as exc:
            code, answer = exc.code, {"error": str(exc)}
        except ScenarioError as exc:
            code, answer = 400, {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001
            log.exception("kube admin: %s %s failed", method, self.path)
            code, answer = 500, {"error": f"internal error: {exc}"}
        payload = json.dumps(answer, indent=2).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        log.info("kube admin %s %s -> %d", method, parts.path, code)

    def _route(self, method: str, segments: list[str], region: str | None) -> tuple[int, Any]:
        def only(*allowed: str) -> None:
            if method not in allowed:
                raise AdminError(405, f"{method} not allowed here; use {', '.join(allowed)}")

        if segments and segments[0] in EXTRA_ROUTES:
            return EXTRA_ROUTES[segments[0]](method, segments[1:], self._body)
        if segments == ["clusters"]:
            only("GET")
            return 200, {"clusters": [c.entry() for c in sorted(REGISTRY.all(), key=lambda c: (c.name, c.region))]}
        if len(segments) < 2 or segments[0] != "clusters" or len(segments) > 3:
            raise AdminError(404, "unknown path; see GET /clusters and /clusters/{name}/{scenario,state,faults,requests}")
        cluster = self._cluster(segments[1], region)
        what = segments[2] if len(segments) == 3 else ""
        if what == "":
            only("GET")
            return 200, cluster.entry()
        if what == "scenario":
            only("GET", "PUT", "PATCH")
            if method == "GET":
                with cluster.lock:
                    return 200, copy.deepcopy(cluster.scenario)
            body = self._body()
            with cluster.lock:
                if method == "PUT":
                    scenario = complete_scenario(body, cluster.name, cluster.region)
                else:
                    if not isinstance(body, dict):
                        raise ScenarioError("a scenario patch is a JSON object")
                    merged = merge_patch(cluster.scenario, {k: v for k, v in body.items() if k != "peers"})
                    if "peers" in body:
                        merged["peers"] = body["peers"]
                    scenario = complete_scenario(merged, cluster.name, cluster.region)
                cluster.apply_scenario(scenario, replace=method == "PUT")
            return 200, cluster.state()
        if what == "state":
            only("GET")
            return 200, cluster.state()
        if what == "faults":
            only("GET", "POST", "DELETE")
            with cluster.lock:
                if method == "POST":
                    cluster.add_fault(self._body())
                elif method == "DELETE":
                    cluster.faults.clear()
                return 200, {"faults": copy.deepcopy(cluster.faults)}
        if what == "requests":
            only("GET", "DELETE")
            with cluster.lock:
                if method == "DELETE":
                    count = len(cluster.requests)
                    cluster.requests.clear()
                    return 200, {"cleared": count}
                return 200, {"requests": list(cluster.requests)}
        raise AdminError(404, f"unknown path /clusters/{cluster.name}/{what}")


class AdminServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def start_admin(host: str, port: int) -> AdminServer:
    """Serve the admin API on host:port in a daemon thread."""
    server = AdminServer((host, port), AdminHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="kube-admin", daemon=True).start()
    log.info("kube admin API on http://%s:%d", host, port)
    return server
