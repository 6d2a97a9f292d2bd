"""Local cloud: moto server in-process, with four answers replaced (the
patches are in ``moto_patches.py``, which refuses any moto but the pinned one).

Runs ``moto.server.ThreadedMotoServer`` on 127.0.0.1, port
``LOCAL_CLOUD_MOTO_PORT`` (default 4566), until SIGTERM or SIGINT, and in
the same process the local Kubernetes APIs of ``kubeapi``: one HTTPS API
server per EKS cluster, and their admin API (plain HTTP) on 127.0.0.1, port
``LOCAL_CLOUD_KUBE_ADMIN_PORT`` (default 4568). Every service moto emulates
answers as moto does, except:

Route 53 ``GetHealthCheckStatus``
    moto always answers one healthy observation, so a failing region cannot
    be shown locally. Here the answer is driven by the health check's tag
    ``local-cloud:status``: a comma-separated sequence of ``Success`` /
    ``Failure``. Each call for a health check answers the next value of its
    sequence; the last value sticks. A cursor per health check is kept in
    memory and starts over whenever the tag value changes, and also whenever
    the tag is written again (``ChangeTagsForResource`` naming it, even with
    the same value; that call itself answers as moto does). No tag (or an
    empty one): ``Success``. An unknown value answers ``InvalidInput``.

    A value may also be ``Platform`` (any case, anywhere in a sequence, e.g.
    ``Failure,Platform``): that call answers what a real checker would see
    of the platform in the cluster named by the health check's tag
    ``local-cloud:cluster`` = ``<region>/<cluster name>`` (``provision``
    writes it): ``Success`` when that cluster's local Kubernetes API exists
    (same account), its scenario's ``cluster_status`` is ``ACTIVE``, the
    deployment exists and at least one pod is ready, else ``Failure``
    (logged with the reason). So a drill runs end to end: pods crash-looping
    -> health fails -> the functions restart the deployment -> pods ready ->
    health heals. ``Platform`` without a well-formed ``local-cloud:cluster``
    tag answers ``InvalidInput``.

    The answer has 8 observations, one from each Route 53 checker region
    (us-east-1, us-west-1, us-west-2, eu-west-1, ap-southeast-1,
    ap-southeast-2, ap-northeast-1, sa-east-1), each with an ``IPAddress``,
    a ``StatusReport.Status`` worded like Route 53's
    ("Success: HTTP Status Code 200, OK" /
    "Failure: HTTP Status Code 503, Service Unavailable") and
    ``CheckedTime`` = now (UTC). All 8 agree on the value of that call.

    Set the tag with the real API (``ChangeTagsForResource``), e.g.
    ``scripts/local-cloud set-health us-east-1 Failure,Failure,Success``.

EKS ``DescribeCluster``
    moto answers an endpoint nobody listens on and a CA that is not a
    certificate. Each cluster made with ``CreateCluster`` (any region) gets
    a local Kubernetes API (``kubeapi``: HTTPS on 127.0.0.1, its own CA,
    EKS token authentication, the platform's objects played from a scenario);
    ``DeleteCluster`` and a moto reset stop it. ``DescribeCluster`` answers
    moto's cluster with three fields replaced: ``endpoint`` =
    ``https://127.0.0.1:<port>`` of that API, ``certificateAuthority.data`` =
    base64 of its CA's PEM, ``status`` = the scenario's ``cluster_status``
    (default ``ACTIVE``; set through the admin API). Every other EKS answer
    (``CreateCluster`` included) is moto's own.

Step Functions: Lambda tasks reach the Lambda runtime emulators
    State machines run (moto's ``stepfunctions.execute_state_machine`` is
    on: executions are interpreted by moto's ASL parser, ``Wait`` states and
    retry intervals really wait). moto would send a task's Lambda ``Invoke``
    to its own Lambda, where the project's functions do not exist. Here the
    Lambda client of the workflow's Lambda tasks (``arn:aws:states:::lambda:invoke``
    and plain function ARNs as ``Resource``) is replaced: ``FunctionName``
    (a name, a partial or full ARN; account, region and qualifier ignored)
    ``<environment>-<binary>`` is POSTed to
    ``<endpoint>/2015-03-31/functions/<binary>/invocations`` of the emulator
    (``cargo lambda watch``) registered for ``<environment>``, the longest
    registered environment name that the function name starts with,
    followed by ``-``. What the task gets is shaped like Lambda's answer:

    - the function answered: ``StatusCode`` 200, ``Payload``,
      ``ExecutedVersion`` ``$LATEST``;
    - the function failed (cargo lambda answers HTTP 500 with
      ``{"errorType", "errorMessage"}``; it sends no
      ``X-Amz-Function-Error``): the same plus ``FunctionError``
      ``Unhandled``, so the task's error is the function's ``errorType``
      (as on AWS) and ``Retry`` / ``Catch`` match it by that name;
    - no emulator registered for the name, or the emulator has no such
      binary (its 404 ``Missing function``): Lambda's
      ``ResourceNotFoundException`` (404, "Function not found: <arn>"), the
      task error ``Lambda.ResourceNotFoundException``;
    - the emulator does not answer (refused, timed out after 900 s) or
      answers anything else: ``ServiceException`` (500), the task error
      ``Lambda.ServiceException``.

    Every answer carries ``ResponseMetadata`` with a fresh ``RequestId``
    (moto's interpreter quotes it in a task error's cause). Other service
    integrations are moto's own (``MOTO_PORT`` is set to this
    server's port so that they reach it).

    The registry is on the Kubernetes admin port (plain HTTP, JSON):

    ``GET /lambda``
        ``{"emulators": [{"environment", "endpoint"}, ...]}``
    ``GET /lambda/{environment}``
        that entry (404 if none).
    ``PUT /lambda/{environment}`` ``{"endpoint": "http://127.0.0.1:PORT"}``
        registers (or replaces) the environment's emulator; answers the
        entry. ``scripts/local-cloud lambda`` registers the default
        environment's; a test registers its own.
    ``DELETE /lambda/{environment}``
        forgets it; answers ``{"environment", "removed": true|false}``.

    The registry lives as long as this process (a moto reset keeps it).

    Where moto 5.2.5's interpreter differs from AWS (seen running the
    recovery workflow): a ``StartExecution`` without ``name`` gets the
    execution name ``None`` (so a second unnamed one is
    ``ExecutionAlreadyExists``); ``CreateStateMachine`` does not check that
    ``Next`` / ``Default`` name existing states; ``States.Timeout`` has an
    empty cause, and the timed-out attempt still runs to its end in the
    background and adds a late ``TaskSucceeded`` to the history;
    ``StopExecution`` interrupts a ``Wait`` state at once but not a retry
    interval, and its ``error`` / ``cause`` are not kept. Patched here:
    ``StopExecution`` would not end a ``.waitForTaskToken`` task before its
    timeout (AWS ends it at once); stopping interrupts the execution's
    callback waits, and the error that ends the interrupted task does not
    turn the stopped execution into a failed one: it ends ``ABORTED`` at once.

Lambda ``Invoke``: the functions' own calls reach the same emulators
    ``POST /2015-03-31/functions/<FunctionName>/invocations`` on moto's
    endpoint, ``FunctionName`` a name, a partial or full ARN (qualifier,
    account and region ignored), goes to the emulator the registry above
    routes ``<environment>-<binary>`` to, so a function can invoke its
    siblings through ``AWS_ENDPOINT_URL``. The answers are Lambda's over HTTP:

    - ``RequestResponse`` (or no ``X-Amz-Invocation-Type``): 200 with the
      function's payload and ``X-Amz-Executed-Version: $LATEST``; the
      function failed: the same with ``X-Amz-Function-Error: Unhandled`` and
      its ``{"errorType", "errorMessage"}``; the emulator has no such binary:
      404, header ``x-amzn-ErrorType: ResourceNotFoundException``, body
      ``{"Type": "User", "message": "Function not found: <arn>"}``; the
      emulator does not answer or answers anything else: 500
      ``ServiceException`` (``"Type": "Service"``);
    - ``Event``: 202, empty, at once; the payload is posted to the emulator
      in the background and the outcome only logged (a missing binary
      included);
    - ``DryRun``: 204, empty; nothing runs, the binary is not looked up;
    - any other type: 400 ``InvalidParameterValueException`` naming it.

    There is no ``X-Amz-Log-Result`` (``LogType: Tail`` gets no log). The
    invoked function runs as its own role (below), not as its caller. A name
    no registered environment routes is moto's own, and so is every other
    Lambda call: functions made in moto answer ``GetFunctionConfiguration``
    etc. as before, even under a routed prefix (only their ``Invoke`` goes
    to the emulator).

Function identities: every function runs as its own IAM role
    On AWS each function gets its own role's credentials from Lambda, and
    EKS knows it by them. ``cargo lambda watch`` gives every function the
    same environment, so here the functions' credentials come from the
    container credentials endpoint of the admin API
    (``AWS_CONTAINER_CREDENTIALS_FULL_URI``, which ``provision`` puts in the
    function configuration): ``GET /credentials/<environment>`` answers
    moto STS ``AssumeRole`` credentials (one hour) of the IAM role
    ``<environment>-<function>`` (``provision`` creates one per function),
    session name the same, where the function is the
    ``AWS_LAMBDA_FUNCTION_NAME`` of the process holding the connection
    (found in /proc: nothing the caller sends). The Kubernetes APIs check an
    EKS token signed with such credentials against the session moto's STS
    issued (secret, session token, expiry) and know the caller as that role
    session (``arn:aws:sts::<account>:assumed-role/<role>/<session>``),
    which the cluster's access entries map to Kubernetes groups.

Run it with the tools venv's python (``scripts/local-cloud up`` does).
It exits with status 2 and one line naming the patch when the installed moto
is not the version the patches are written for.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kubeapi  # noqa: E402
import moto_patches  # noqa: E402

HOST = "127.0.0.1"

# Services the project uses: imported up front so the first request to each
# does not pay for the import.
WARM_SERVICES = ("route53", "sns", "sqs", "sts", "iam", "eks", "stepfunctions", "cloudwatch")

log = logging.getLogger("local-cloud")


# ---------------------------------------------------------------------------
# The Lambda emulator registry (admin API /lambda)
# ---------------------------------------------------------------------------

ENVIRONMENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")

# environment name -> emulator endpoint (http://127.0.0.1:PORT)
_emulators: dict[str, str] = {}
_emulators_lock = threading.Lock()


def _emulator_entry(environment: str, endpoint: str) -> dict[str, str]:
    return {"environment": environment, "endpoint": endpoint}


def endpoint_from(body: Any) -> str:
    """The emulator URL of a ``PUT /lambda/ENV`` body, without a trailing ``/``."""
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str):
        raise kubeapi.AdminError(400, 'expected {"endpoint": "http://127.0.0.1:PORT"}')
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise kubeapi.AdminError(400, f"endpoint {endpoint!r}: expected http://HOST:PORT")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise kubeapi.AdminError(400, f"endpoint {endpoint!r}: {exc}") from exc
    return endpoint.rstrip("/")


def lambda_admin(method: str, segments: list[str], read_body: Callable[[], Any]) -> tuple[int, Any]:
    """The admin API's ``/lambda`` routes: the emulator registry."""
    if not segments:
        if method != "GET":
            raise kubeapi.AdminError(405, f"{method} not allowed here; use GET")
        with _emulators_lock:
            entries = [_emulator_entry(env, url) for env, url in sorted(_emulators.items())]
        return 200, {"emulators": entries}
    if len(segments) != 1:
        raise kubeapi.AdminError(404, "unknown path; see GET /lambda and /lambda/{environment}")
    environment = segments[0]
    if not ENVIRONMENT_RE.fullmatch(environment):
        raise kubeapi.AdminError(400, f"environment {environment!r}: use letters, digits, '-', '_', '.'")
    if method == "GET":
        with _emulators_lock:
            endpoint = _emulators.get(environment)
        if endpoint is None:
            raise kubeapi.AdminError(404, f"no emulator registered for {environment} (GET /lambda)")
        return 200, _emulator_entry(environment, endpoint)
    if method == "PUT":
        endpoint = endpoint_from(read_body())
        with _emulators_lock:
            _emulators[environment] = endpoint
        log.info("lambda: environment %s -> emulator %s", environment, endpoint)
        return 200, _emulator_entry(environment, endpoint)
    if method == "DELETE":
        with _emulators_lock:
            removed = _emulators.pop(environment, None) is not None
        if removed:
            log.info("lambda: environment %s: emulator forgotten", environment)
        return 200, {"environment": environment, "removed": removed}
    raise kubeapi.AdminError(405, f"{method} not allowed here; use GET, PUT, DELETE")


def route_function(function_name: str) -> tuple[str, str] | None:
    """(emulator endpoint, binary) for ``<environment>-<binary>``, if registered:
    the longest registered environment name the function name starts with."""
    with _emulators_lock:
        candidates = [
            (env, url)
            for env, url in _emulators.items()
            if function_name.startswith(env + "-") and len(function_name) > len(env) + 1
        ]
    if not candidates:
        return None
    environment, endpoint = max(candidates, key=lambda item: len(item[0]))
    return endpoint, function_name[len(environment) + 1 :]


# ---------------------------------------------------------------------------
# Function identities (admin API /credentials, EKS token checks)
# ---------------------------------------------------------------------------

ACCOUNT = "123456789012"
PARTITION = "aws"
SESSION_SECONDS = 3600
# What the identities read of moto's IAM and STS: checked at start, so a
# moto upgrade that moves them fails here, by name, not in a request.
IDENTITY_API = (
    ("moto.iam.models", "IAMBackend", "get_role"),
    ("moto.sts.models", "STSBackend", "assume_role"),
    ("moto.sts.models", "STSBackend", "get_assumed_role_from_access_key"),
)


def check_identity_api() -> None:
    import importlib

    for module, cls, attribute in IDENTITY_API:
        if not hasattr(getattr(importlib.import_module(module), cls, None), attribute):
            raise moto_patches.MotoPatchError(
                f"function identities: {module}.{cls}.{attribute} is gone (moto changed); "
                "update launcher.py's identities"
            )


def _timestamp(moment: dt.datetime) -> float:
    # moto keeps naive UTC times.
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def temporary_credential(access_key: str) -> kubeapi.Credential | None:
    """The role session moto's STS issued for ``access_key``, if any."""
    from moto.sts.models import sts_backends

    for account in list(sts_backends):
        session = sts_backends[account][PARTITION].get_assumed_role_from_access_key(access_key)
        if session is not None:
            return kubeapi.Credential(
                secret=session.secret_access_key,
                session_token=session.session_token,
                expires_at=_timestamp(session.expiration),
                caller=kubeapi.Caller(
                    arn=session.arn,
                    principal_arn=session.role_arn,
                    account=session.account_id,
                    session_name=session.session_name,
                ),
            )
    return None


def function_credentials(environment: str, function: str) -> dict[str, str]:
    """The credentials of role ``<environment>-<function>``, as ECS and EKS Pod Identity answer them."""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    name = f"{environment}-{function}"
    try:
        role = iam_backends[ACCOUNT][PARTITION].get_role(name)
    except NotFoundException as exc:
        raise kubeapi.AdminError(
            404,
            f"function {function} of environment {environment} has no role {name} "
            f"(scripts/local-cloud provision --name {environment} creates one per function)",
        ) from exc
    session = sts_backends[ACCOUNT][PARTITION].assume_role(
        region_name="us-east-1",
        role_session_name=name,
        role_arn=role.arn,
        policy=None,
        duration=SESSION_SECONDS,
        external_id=None,
    )
    log.info("credentials: %s runs as %s", function, session.arn)
    expiration = dt.datetime.fromtimestamp(_timestamp(session.expiration), dt.UTC)
    return {
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret_access_key,
        "Token": session.session_token,
        "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "RoleArn": role.arn,
    }


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------


def _port(variable: str, default: int) -> int:
    text = os.environ.get(variable, str(default))
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SystemExit(f"launcher: {variable}={text!r}: expected a port number (1-65535)")
    return int(text)


def _warm() -> None:
    import importlib

    for service in WARM_SERVICES:
        importlib.import_module(f"moto.{service}.urls")


def _port_free(port: int) -> bool:
    # ThreadedMotoServer.start() waits forever when the port is taken, so
    # find out first (same SO_REUSEADDR as the server's own socket).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def main() -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    port = _port("LOCAL_CLOUD_MOTO_PORT", 4566)
    kube_admin_port = _port("LOCAL_CLOUD_KUBE_ADMIN_PORT", 4568)
    try:
        moto_patches.apply(clusters=kubeapi.REGISTRY, route_lambda=route_function)
        check_identity_api()
    except moto_patches.MotoPatchError as exc:
        log.error("%s", exc)
        return 2
    from moto.server import ThreadedMotoServer

    # moto's other service integrations call http://localhost:$MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    kubeapi.EXTRA_ROUTES["lambda"] = lambda_admin
    kubeapi.use_temporary_credentials(temporary_credential)
    kubeapi.use_credential_source(function_credentials)
    for wanted, variable in (
        (port, "LOCAL_CLOUD_MOTO_PORT"),
        (kube_admin_port, "LOCAL_CLOUD_KUBE_ADMIN_PORT"),
    ):
        if not _port_free(wanted):
            log.error("port %s:%d (%s) is already in use", HOST, wanted, variable)
            return 1
    _warm()

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    # The admin API first: once moto answers, both do.
    admin = kubeapi.start_admin(HOST, kube_admin_port)
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    log.info("moto listening on http://%s:%d (pid %d)", HOST, port, os.getpid())
    try:
        while not stop.wait(3600):
            pass
    finally:
        server.stop()
        # The Kubernetes APIs and the admin API are daemon threads: they end
        # with the process (stopping each one would take a poll interval).
        admin.server_close()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is in memory: skip the interpreter's slow teardown of moto's
    # module state (~2 s).
    os._exit(code)
