"""The admin API: how tests and drills play each cluster's controller.

Plain HTTP on 127.0.0.1:``LOCAL_CLOUD_KUBE_ADMIN_PORT`` (4568), JSON in and
out, errors ``{"error": "..."}``. ``{name}`` is the EKS cluster name; add
``?region=R`` if the name exists in two regions.

``GET /clusters``
    ``{"clusters": [{name, region, account, endpoint, certificate_authority_data, cluster_status}]}``
``GET /clusters/{name}``
    that entry.
``GET /clusters/{name}/scenario``
    the full scenario (see ``scenario``).
``PUT /clusters/{name}/scenario`` (a scenario; missing keys take defaults)
    replaces the scenario and starts the cluster over from it: a fresh
    deployment (generation 1), fresh pods in mode ``pods``, the
    ``after_restart`` list from its start. Answers the state.
``PATCH /clusters/{name}/scenario`` (a JSON merge patch of the scenario)
    merges: ``pods`` re-labels the current pods, ``deployment`` fields
    change the spec (``image`` means new pods, ``exists`` removes /
    recreates the deployment), ``after_restart`` restarts its list,
    ``kubernetes_version`` changes what ``GET /version`` and the nodes
    answer. Answers the state.
``GET /clusters/{name}/state``
    ``{cluster, scenario, summary, deployment, pods, rollouts, faults}``;
    ``summary`` is the short view (generation, observedGeneration, counts,
    each pod's name / phase / ready / reason).
``POST /clusters/{name}/faults``
    queues a fault (see ``faults``). Answers ``{"faults": [...]}``.
``GET /clusters/{name}/faults``, ``DELETE /clusters/{name}/faults``
    the pending faults / clear them.
``GET /clusters/{name}/requests``
    ``{"requests": [{time, method, path, query, content_type, body, status,
    auth, auth_error, caller, user, groups, authorization, fault,
    user_agent}]}``: every Kubernetes request, oldest first (the last 10000);
    ``body`` for PATCH/PUT/POST (JSON when it parses); ``caller`` the ARN
    that signed the token, ``user`` and ``groups`` what its access entry
    made of it, ``authorization`` what RBAC saw (verb, api_group, resource,
    name, namespace) and decided (``allowed``, ``by``); never the token.
``DELETE /clusters/{name}/requests``
    clears the log; answers ``{"cleared": N}``.
``GET /clusters/{name}/access-entries``
    ``{"accessEntries": [{principalArn, kubernetesGroups, username, type}]}``:
    who may call the cluster (the local cloud's own user, its creator, is
    cluster admin).
``POST /clusters/{name}/access-entries`` ``{"principalArn", "kubernetesGroups", "username"?}``
    creates or replaces the principal's entry, as ``aws eks
    create-access-entry`` / ``update-access-entry`` do (``provision`` maps
    each function's role as ``scripts/grant-eks-access`` does on AWS).
``GET /clusters/{name}/rbac``
    ``{manifests, namespace, deployment, grants, refused, changes}``: every
    single permission the RBAC manifests grant (subject, binding, role,
    namespace, verb, api_group, resource, name) with ``used``, how many
    requests it allowed; every refusal (user, verb, resource, name,
    namespace, count); and what was taken out of them (``changes``, the
    ``removed`` entries below). SelfSubjectAccessReviews neither use a grant
    nor count as refusals.
``DELETE /clusters/{name}/rbac/roles/{namespace}/{role}/verbs/{verb}``,
``DELETE /clusters/{name}/rbac/clusterroles/{role}/verbs/{verb}`` (``?resource=R``)
    takes the verb out of every rule of the role, or only of the rules
    naming resource ``R`` (``deployments/scale``, as a rule names it): one
    permission gone in one cluster, as if the role had been edited there. A
    rule left without a verb goes. No body; answers ``{"removed": [{role,
    rule, apiGroups, resources, resourceNames, verbs: [verb]}], "role": the
    Role or ClusterRole now applied}``; 404 naming the roles, the role's
    resources or its verbs when there is no such role, rule or verb. It
    lasts until reloaded (a scenario PUT keeps it).
``POST /clusters/{name}/rbac/reload``
    applies ``scripts/rbac/*.yaml`` again as they are on disk, undoing every
    change (counts of the grants still there are kept); answers
    ``{"manifests", "undone": N}``; 400 naming a manifest that does not
    load (the applied RBAC then stays).
``GET /credentials/{environment}``
    the container credentials endpoint of the functions the Lambda runtime
    emulator runs (``AWS_CONTAINER_CREDENTIALS_FULL_URI``): the credentials of
    role ``<environment>-<function>``, where the function is the
    ``AWS_LAMBDA_FUNCTION_NAME`` of the local process that holds the
    connection (``peer``), as Lambda gives each function its own role. 403
    for a process that is no such function.

The same port serves the routes other modules add (``EXTRA_ROUTES``): the
launcher's Lambda emulator registry, ``GET /lambda``, ``GET|PUT|DELETE
/lambda/{environment}`` (see ``launcher.py``).
"""

from __future__ import annotations

import copy
import http.server
import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import peer, rbac
from .access import AccessError, access_entry_from
from .cluster import KubeCluster
from .faults import FaultError
from .registry import REGISTRY
from .scenario import ScenarioError, complete_scenario, patched_scenario
from .server import MAX_BODY, MethodDispatchingHandler

log = logging.getLogger("local-cloud.kube")


class AdminError(Exception):
    """An admin API error answer: its HTTP status and message."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


# Routes another module serves on this admin port (one port for every admin
# call a test makes): first path segment -> handler(method, the segments
# after it, a function that reads the JSON body) answering (status, JSON);
# it raises AdminError for an error answer. The launcher adds ``lambda``.
AdminRoute = Callable[[str, list[str], Callable[[], Any]], tuple[int, Any]]
EXTRA_ROUTES: dict[str, AdminRoute] = {}

# Issues a function's role credentials: (environment, function name) -> the
# container credentials answer (AccessKeyId, SecretAccessKey, Token,
# Expiration); raises AdminError. The launcher sets it (moto's STS).
CredentialSource = Callable[[str, str], dict[str, Any]]
_credential_source: CredentialSource | None = None
# (client address, server address) of an admin request's connection.
Connection = tuple[tuple[str, int], tuple[str, int]]
ENVIRONMENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")


def use_credential_source(source: CredentialSource | None) -> None:
    global _credential_source
    _credential_source = source


def _only(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise AdminError(405, f"{method} not allowed here; use {', '.join(allowed)}")


def _find(name: str, region: str | None) -> KubeCluster:
    found = REGISTRY.find(name, region)
    if not found:
        names = sorted(c.name for c in REGISTRY.all())
        known = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        where = f" in {region}" if region else ""
        raise AdminError(404, f"no cluster {name}{where} (clusters: {known or 'none'}; GET /clusters)")
    if len(found) > 1:
        regions = ", ".join(sorted(c.region for c in found))
        raise AdminError(409, f"cluster {name} exists in {regions}: add ?region=")
    return found[0]


def _credentials(method: str, segments: list[str], connection: Connection | None) -> tuple[int, Any]:
    _only(method, "GET")
    if len(segments) != 1 or not ENVIRONMENT_RE.fullmatch(segments[0]):
        raise AdminError(404, "unknown path; use /credentials/{environment}")
    if connection is None:
        raise AdminError(403, "the caller's connection is unknown")
    try:
        environment = peer.environment_of(peer.process_of(*connection))
    except peer.PeerError as exc:
        raise AdminError(403, f"cannot tell which function is asking: {exc}") from exc
    function = environment.get("AWS_LAMBDA_FUNCTION_NAME")
    if not function or "AWS_LAMBDA_RUNTIME_API" not in environment:
        raise AdminError(
            403,
            "only a function run by the Lambda runtime emulator (cargo lambda) gets its role's "
            "credentials here; the process asking has no AWS_LAMBDA_FUNCTION_NAME",
        )
    if _credential_source is None:
        raise AdminError(404, "no credential source (the launcher sets one)")
    return 200, _credential_source(segments[0], function)


def _access_entries(cluster: KubeCluster, method: str, read_body: Callable[[], Any]) -> tuple[int, Any]:
    _only(method, "GET", "POST")
    if method == "POST":
        try:
            entry = access_entry_from(read_body())
        except AccessError as exc:
            raise AdminError(400, str(exc)) from exc
        cluster.put_access_entry(entry)
        return 200, entry.as_json()
    with cluster.lock:
        entries = [e.as_json() for _, e in sorted(cluster.access_entries.items())]
    return 200, {"accessEntries": entries}


_RBAC_PATHS = (
    "/clusters/{name}/rbac, /clusters/{name}/rbac/reload, "
    "/clusters/{name}/rbac/roles/{namespace}/{role}/verbs/{verb} or "
    "/clusters/{name}/rbac/clusterroles/{role}/verbs/{verb}"
)


def _rbac(cluster: KubeCluster, method: str, rest: list[str], query: dict[str, str]) -> tuple[int, Any]:
    if not rest:
        _only(method, "GET")
        return 200, cluster.rbac_report()
    if rest == ["reload"]:
        _only(method, "POST")
        try:
            return 200, cluster.reload_rbac()
        except rbac.RbacError as exc:
            raise AdminError(400, f"RBAC manifests: {exc}; the applied RBAC stays") from exc
    if rest[0] == "roles" and len(rest) == 5 and rest[3] == "verbs":
        kind, namespace, role, verb = "Role", rest[1], rest[2], rest[4]
    elif rest[0] == "clusterroles" and len(rest) == 4 and rest[2] == "verbs":
        kind, namespace, role, verb = "ClusterRole", None, rest[1], rest[3]
    else:
        raise AdminError(404, f"unknown path; use {_RBAC_PATHS}")
    _only(method, "DELETE")
    unknown = sorted(set(query) - {"region", "resource"})
    if unknown:
        raise AdminError(
            400, f"unknown query parameter {', '.join(unknown)} (this path takes region, resource)"
        )
    resource = query.get("resource")
    if resource == "":
        raise AdminError(400, "resource: empty; leave it out to take the verb out of every rule")
    try:
        return 200, cluster.remove_verb(kind, namespace, role, verb, resource)
    except rbac.RbacError as exc:
        raise AdminError(404, str(exc)) from exc


def route(
    method: str,
    segments: list[str],
    region: str | None,
    read_body: Callable[[], Any],
    connection: Connection | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(status, JSON) for one admin request; raises AdminError, ScenarioError or FaultError."""
    if segments[:1] == ["credentials"]:
        return _credentials(method, segments[1:], connection)
    if segments and segments[0] in EXTRA_ROUTES:
        return EXTRA_ROUTES[segments[0]](method, segments[1:], read_body)
    if segments == ["clusters"]:
        _only(method, "GET")
        return 200, {
            "clusters": [c.entry() for c in sorted(REGISTRY.all(), key=lambda c: (c.name, c.region))]
        }
    deeper = len(segments) > 3 and segments[2] != "rbac"
    if len(segments) < 2 or segments[0] != "clusters" or deeper:
        raise AdminError(
            404,
            "unknown path; see GET /clusters and "
            "/clusters/{name}/{scenario,state,faults,requests,access-entries,rbac}",
        )
    cluster = _find(segments[1], region)
    what = segments[2] if len(segments) >= 3 else ""
    if what == "":
        _only(method, "GET")
        return 200, cluster.entry()
    if what == "scenario":
        return _scenario(cluster, method, read_body)
    if what == "state":
        _only(method, "GET")
        return 200, cluster.report()
    if what == "faults":
        _only(method, "GET", "POST", "DELETE")
        with cluster.lock:
            if method == "POST":
                cluster.faults.add(read_body())
            elif method == "DELETE":
                cluster.faults.clear()
            return 200, {"faults": cluster.faults.pending()}
    if what == "access-entries":
        return _access_entries(cluster, method, read_body)
    if what == "rbac":
        return _rbac(cluster, method, segments[3:], query or {})
    if what == "requests":
        _only(method, "GET", "DELETE")
        with cluster.lock:
            if method == "DELETE":
                count = len(cluster.requests)
                cluster.requests.clear()
                return 200, {"cleared": count}
            return 200, {"requests": list(cluster.requests)}
    raise AdminError(404, f"unknown path /clusters/{cluster.name}/{what}")


def _scenario(cluster: KubeCluster, method: str, read_body: Callable[[], Any]) -> tuple[int, Any]:
    _only(method, "GET", "PUT", "PATCH")
    if method == "GET":
        with cluster.lock:
            return 200, copy.deepcopy(cluster.state.scenario)
    body = read_body()
    with cluster.lock:
        if method == "PUT":
            scenario = complete_scenario(body, cluster.name, cluster.region)
        else:
            scenario = patched_scenario(cluster.state.scenario, body, cluster.name, cluster.region)
        cluster.state.apply_scenario(scenario, replace=method == "PUT")
    return 200, cluster.report()


class AdminHandler(MethodDispatchingHandler):
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

    def _serve(self) -> None:
        method = self.command
        parts = urlsplit(self.path)
        # Blank values kept: ``?resource=`` is an error, not "every rule".
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        segments = [unquote(s) for s in parts.path.strip("/").split("/") if s]
        try:
            connection = (self.client_address[:2], self.server.server_address[:2])
            code, answer = route(method, segments, query.get("region") or None, self._body, connection, query)
        except AdminError as exc:
            code, answer = exc.code, {"error": str(exc)}
        except (ScenarioError, FaultError) as exc:
            code, answer = 400, {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - answer 500 rather than drop the connection
            log.exception("kube admin: %s %s failed", method, self.path)
            code, answer = 500, {"error": f"internal error: {exc}"}
        payload = json.dumps(answer, indent=2).encode() + b"\n"
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            # The caller went away (a readiness probe that only connects, a
            # test that timed out): nothing to answer, nothing to report.
            self.close_connection = True
        log.info("kube admin %s %s -> %d", method, parts.path, code)


class AdminServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def start_admin(host: str, port: int) -> AdminServer:
    """Serve the admin API on host:port in a daemon thread."""
    server = AdminServer((host, port), AdminHandler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="kube-admin", daemon=True
    ).start()
    log.info("kube admin API on http://%s:%d", host, server.server_address[1])
    return server
