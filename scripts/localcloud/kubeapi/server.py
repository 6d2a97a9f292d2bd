"""The HTTPS server of one cluster's Kubernetes API.

HTTPS on 127.0.0.1, a free port, HTTP/1.1 with keep-alive (certificates:
``tls``). Every request, in this order: its fault, if one is queued
(``faults``); the bearer token (``eks_token``: 401 ``Unauthorized`` naming
what was wrong), whose signer must have an access entry on the cluster
(``access``; none: 401, as EKS answers); RBAC (``rbac``: 403 ``Forbidden``,
worded as the API server words it, for anything the user's groups are not
granted, whether or not the object exists; what Kubernetes grants every
authenticated user, creating a SelfSubjectAccessReview or ``GET /version``,
needs no grant of the manifests); then the path (``routes``). Each
request is recorded in the cluster's request log (never the token: the
caller's ARN, its Kubernetes user and groups, and what RBAC saw and decided)
and logged in one line: cluster, method, path, status.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import socket
import ssl
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from . import rbac, routes
from .api_errors import ApiError, status_body
from .eks_token import AuthError, verify_token

if TYPE_CHECKING:
    from .cluster import KubeCluster

log = logging.getLogger("local-cloud.kube")

MAX_BODY = 1 << 20


class MethodDispatchingHandler(http.server.BaseHTTPRequestHandler):
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


class KubeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], cluster: KubeCluster, context: ssl.SSLContext):
        self.cluster = cluster
        super().__init__(address, KubeHandler)
        # The handshake runs in each connection's thread (KubeHandler.handle):
        # one slow or broken client never stalls accept().
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

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


def _recorded_body(body: bytes) -> Any:
    """The body as the request log shows it: JSON when it parses, else text."""
    try:
        return json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return body.decode("utf-8", "replace")


def _warning(text: str) -> str:
    """One warning as the API server sends it (RFC 7234: code 299, agent "-")."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'


class KubeHandler(MethodDispatchingHandler):
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
            self.connection.do_handshake()
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
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "method": method,
            "path": path,
            "query": query,
            "content_type": content_type or None,
            "body": None,
            "status": None,
            "auth": False,
            "auth_error": None,
            "caller": None,
            "user": None,
            "groups": None,
            "authorization": None,
            "fault": False,
            "user_agent": self.headers.get("User-Agent"),
        }
        headers: dict[str, str] = {}
        warnings: list[str] = []
        try:
            body = _read_body(self)
            if method in ("PATCH", "PUT", "POST"):
                record["body"] = _recorded_body(body)
            with cluster.lock:
                fault = cluster.faults.take(method, path)
            if fault and fault["delay_seconds"]:
                time.sleep(fault["delay_seconds"])
            if fault and fault["status"]:
                record["fault"] = True
                code = fault["status"]
                if code in (429, 503):
                    headers["Retry-After"] = "1"
                raise ApiError(
                    code, f"injected fault: the local Kubernetes API answers {code} (admin API faults)"
                )
            try:
                caller = verify_token(self.headers.get("Authorization"), cluster.name)
            except AuthError as exc:
                record["auth_error"] = str(exc)
                raise ApiError(401, str(exc), "Unauthorized") from None
            record["caller"] = caller.arn
            user = cluster.user_of(caller)
            if user is None:
                message = (
                    f"{caller.principal_arn} has no access entry on cluster {cluster.name} "
                    "(scripts/grant-eks-access maps a function's role to its Kubernetes group)"
                )
                record["auth_error"] = message
                raise ApiError(401, message, "Unauthorized")
            record["auth"] = True
            record["user"] = user.name
            record["groups"] = list(user.groups)
            attributes = rbac.request_attributes(method, path, query)
            decision = cluster.authorize(user, attributes)
            record["authorization"] = {
                **attributes.as_json(),
                "allowed": decision.allowed,
                "by": "AmazonEKSClusterAdminPolicy" if user.cluster_admin else "RBAC",
            }
            if not decision.allowed:
                raise rbac.forbidden(user.name, attributes, decision.reason)
            request = routes.Request(
                method,
                path,
                query,
                content_type,
                body,
                review=lambda asked: cluster.review(user, asked),
                warnings=warnings,
            )
            with cluster.lock:
                code, answer = routes.handle(cluster.state, request)
        except ApiError as exc:
            code, answer = exc.code, exc.body
        except (ValueError, OSError) as exc:
            code, answer = 400, status_body(400, f"malformed request: {exc}")
            self.close_connection = True
        except Exception:  # noqa: BLE001 - answer 500 rather than drop the connection
            log.exception("kube %s: %s %s failed", cluster.name, method, path)
            code, answer = (
                500,
                status_body(500, "Internal error occurred: the local Kubernetes API failed (see moto.log)"),
            )
        if warnings:
            headers["Warning"] = ", ".join(_warning(text) for text in warnings)
        record["status"] = code
        cluster.record(record)
        log.info("kube %s %s %s -> %d", cluster.name, method, path, code)
        self._answer(code, answer, headers)

    def _answer(self, code: int, answer: Any, headers: dict[str, str]) -> None:
        payload = json.dumps(answer, separators=(",", ":")).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
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
