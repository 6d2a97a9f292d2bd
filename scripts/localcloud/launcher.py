"""Local cloud: moto server in-process, with three answers replaced.

Runs ``moto.server.ThreadedMotoServer`` on 127.0.0.1, port
``LOCAL_CLOUD_MOTO_PORT`` (default 4566), until SIGTERM or SIGINT, and in
the same process the local Kubernetes APIs of ``kubeapi.py``: one HTTPS API
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
    a local Kubernetes API (``kubeapi.py``: HTTPS on 127.0.0.1, its own CA,
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
    interval, and its ``error`` / ``cause`` are not kept.

Run it with the tools venv's python (``scripts/local-cloud up`` does).
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Callable
from urllib.parse import quote, urlsplit

from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.config import default_user_config
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.eks.models import EKSBackend
from moto.eks.responses import EKSResponse
from moto.route53.exceptions import InvalidInput
from moto.route53.models import Route53Backend
from moto.route53.responses import Route53
from moto.server import ThreadedMotoServer
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kubeapi  # noqa: E402

HOST = "127.0.0.1"
PORT = int(os.environ.get("LOCAL_CLOUD_MOTO_PORT", "4566"))
KUBE_ADMIN_PORT = int(os.environ.get("LOCAL_CLOUD_KUBE_ADMIN_PORT", "4568"))

# Services the project uses: imported up front so the first request to each
# does not pay for the import.
WARM_SERVICES = ("route53", "sns", "sqs", "sts", "eks", "stepfunctions", "cloudwatch")

log = logging.getLogger("local-cloud")


# ---------------------------------------------------------------------------
# Override: Route 53 GetHealthCheckStatus
# ---------------------------------------------------------------------------

STATUS_TAG = "local-cloud:status"
CLUSTER_TAG = "local-cloud:cluster"
PLATFORM = "Platform"  # a sequence value resolved at each call

# Route 53 checker regions and one address from each region's checker range.
CHECKERS = (
    ("us-east-1", "107.23.255.11"),
    ("us-west-1", "54.183.255.139"),
    ("us-west-2", "54.244.52.203"),
    ("eu-west-1", "54.228.16.7"),
    ("ap-southeast-1", "54.255.254.203"),
    ("ap-southeast-2", "54.252.79.139"),
    ("ap-northeast-1", "54.248.220.11"),
    ("sa-east-1", "177.71.207.139"),
)

STATUS_TEXT = {
    "Success": "Success: HTTP Status Code 200, OK",
    "Failure": "Failure: HTTP Status Code 503, Service Unavailable",
}

# health check id -> (tag value the cursor belongs to, index of next value)
_cursors: dict[str, tuple[str, int]] = {}
_cursors_lock = threading.Lock()


def _parse_sequence(tag_value: str) -> list[str]:
    values = []
    for raw in tag_value.split(","):
        word = raw.strip()
        if not word:
            continue
        canonical = word.capitalize()
        if canonical not in STATUS_TEXT and canonical != PLATFORM:
            raise InvalidInput(
                f"Tag {STATUS_TAG}: '{word}' is not Success, Failure or Platform"
            )
        values.append(canonical)
    return values


def next_status(health_check_id: str, tag_value: str | None) -> str:
    """The value this call answers (maybe ``Platform``); advances the cursor."""
    sequence = _parse_sequence(tag_value or "")
    if not sequence:
        with _cursors_lock:
            _cursors.pop(health_check_id, None)
        return "Success"
    with _cursors_lock:
        seen_value, index = _cursors.get(health_check_id, (None, 0))
        if seen_value != tag_value:
            index = 0
        _cursors[health_check_id] = (tag_value, index + 1)
    return sequence[min(index, len(sequence) - 1)]


def platform_status(account: str, health_check_id: str, cluster_tag: str | None) -> str:
    """``Platform``: Success when the tagged cluster serves the platform."""
    region, _, cluster_name = (cluster_tag or "").partition("/")
    if not region or not cluster_name:
        raise InvalidInput(
            f"Tag {STATUS_TAG}: {PLATFORM} needs the tag {CLUSTER_TAG} = "
            f"<region>/<cluster name> on health check {health_check_id}"
        )
    kube = kubeapi.REGISTRY.get(account, region, cluster_name)
    if kube is None:
        served, why = False, "no such cluster"
    else:
        served, why = kube.serves_platform()
    status = "Success" if served else "Failure"
    log.info("health check %s: %s %s/%s -> %s (%s)", health_check_id, PLATFORM, region, cluster_name, status, why)
    return status


def get_health_check_status(self: Route53) -> ActionResult:
    health_check_id = self._get_param("HealthCheckId")
    self.backend.get_health_check(health_check_id)  # NoSuchHealthCheck
    tags = self.backend.list_tags_for_resource(health_check_id)
    status = next_status(health_check_id, tags.get(STATUS_TAG))
    if status == PLATFORM:
        status = platform_status(self.current_account, health_check_id, tags.get(CLUSTER_TAG))
    checked = utcnow()
    return ActionResult(
        {
            "HealthCheckObservations": [
                {
                    "Region": region,
                    "IPAddress": address,
                    "StatusReport": {
                        "Status": STATUS_TEXT[status],
                        "CheckedTime": checked,
                    },
                }
                for region, address in CHECKERS
            ]
        }
    )


Route53.get_health_check_status = get_health_check_status  # type: ignore[method-assign]

_moto_change_tags = Route53Backend.change_tags_for_resource


def change_tags_for_resource(self, resource_type, resource_id, add_tags, remove_tag_keys):  # type: ignore[no-untyped-def]
    """moto's own behaviour; a write of the status tag restarts the sequence."""
    _moto_change_tags(self, resource_type, resource_id, add_tags, remove_tag_keys)
    written = [t.get("Key") for t in add_tags or []] + list(remove_tag_keys or [])
    if STATUS_TAG in written:
        with _cursors_lock:
            _cursors.pop(resource_id, None)


Route53Backend.change_tags_for_resource = change_tags_for_resource  # type: ignore[method-assign]


# ---------------------------------------------------------------------------
# Override: EKS DescribeCluster
#
# moto answers an unreachable endpoint and a CA that is not a certificate.
# The backend's create / delete / reset are hooked to start and stop one
# local Kubernetes API per cluster (kubeapi.REGISTRY); DescribeCluster
# answers a copy of moto's cluster pointing at it.
# ---------------------------------------------------------------------------

_moto_create_cluster = EKSBackend.create_cluster
_moto_delete_cluster = EKSBackend.delete_cluster
_moto_eks_reset = EKSBackend.reset


def create_cluster(self: EKSBackend, name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
    """moto's own behaviour, then a Kubernetes API for the new cluster."""
    cluster = _moto_create_cluster(self, name, *args, **kwargs)
    try:
        kubeapi.REGISTRY.create(self.account_id, self.region_name, name)
    except Exception:
        self.clusters.pop(name, None)  # no cluster without its API
        self.cluster_count -= 1
        raise
    return cluster


def delete_cluster(self: EKSBackend, name: str):  # type: ignore[no-untyped-def]
    cluster = _moto_delete_cluster(self, name)
    kubeapi.REGISTRY.remove(self.account_id, self.region_name, name)
    return cluster


def eks_reset(self: EKSBackend) -> None:
    kubeapi.REGISTRY.remove_region(self.account_id, self.region_name)
    _moto_eks_reset(self)


def describe_cluster(self: EKSResponse) -> ActionResult:
    name = self._get_param("name")
    cluster = self.eks_backend.describe_cluster(name=name)  # ResourceNotFoundException
    kube = kubeapi.REGISTRY.get(self.current_account, self.region, name)
    if kube is None:
        return ActionResult({"cluster": cluster})
    shown = copy.copy(cluster)
    shown.endpoint = kube.endpoint
    shown.certificate_authority = {"data": kube.ca_data}
    shown.status = kube.scenario["cluster_status"]
    return ActionResult({"cluster": shown})


EKSBackend.create_cluster = create_cluster  # type: ignore[method-assign]
EKSBackend.delete_cluster = delete_cluster  # type: ignore[method-assign]
EKSBackend.reset = eks_reset  # type: ignore[method-assign]
EKSResponse.describe_cluster = describe_cluster  # type: ignore[method-assign]


# ---------------------------------------------------------------------------
# Override: Step Functions Lambda tasks -> the Lambda runtime emulators
#
# moto's ASL interpreter makes its Lambda client with
# lambda_eval_utils.boto_client_for (both ``arn:aws:states:::lambda:invoke``
# and a function ARN as Resource go through it). That one name is replaced:
# for "lambda" it answers a client whose ``invoke`` calls the emulator
# registered for the function's environment; every other service keeps
# moto's client.
# ---------------------------------------------------------------------------

ENVIRONMENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")
# A function name, a partial ARN (ACCOUNT:function:NAME) or a full ARN, each
# with an optional qualifier.
FUNCTION_RE = re.compile(
    r"(?:arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"|(?P<partial_account>\d{12}):function:)?"
    r"(?P<name>[A-Za-z0-9_.-]+)(?::(?P<qualifier>[A-Za-z0-9_$-]+))?"
)
INVOKE_TIMEOUT = 900  # Lambda's longest function timeout; a task's TimeoutSeconds comes first

# environment name -> emulator endpoint (http://127.0.0.1:PORT)
_emulators: dict[str, str] = {}
_emulators_lock = threading.Lock()


def _emulator_entry(environment: str, endpoint: str) -> dict[str, str]:
    return {"environment": environment, "endpoint": endpoint}


def _endpoint_from(body: Any) -> str:
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
        endpoint = _endpoint_from(read_body())
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
    """(emulator endpoint, binary) for ``<environment>-<binary>``, if registered."""
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


def _metadata(status: int, request_id: str) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "HTTPStatusCode": status,
        "HTTPHeaders": {"x-amzn-requestid": request_id, "content-type": "application/json"},
        "RetryAttempts": 0,
    }


def _lambda_error(status: int, code: str, message: str) -> ClientError:
    """What botocore raises for a Lambda error answer."""
    request_id = str(uuid.uuid4())
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": _metadata(status, request_id)},
        "Invoke",
    )


class EmulatorLambdaClient:
    """The part of a boto3 Lambda client moto's Lambda tasks use: ``invoke``."""

    def __init__(self, region: str) -> None:
        self.region = region

    def invoke(self, FunctionName: str, Payload: bytes | str | None = None, **_ignored: Any) -> dict[str, Any]:  # noqa: N803 - boto3's names
        match = FUNCTION_RE.fullmatch(FunctionName or "")
        if match is None:
            raise _lambda_error(400, "InvalidParameterValueException", f"FunctionName {FunctionName!r} is not a function name or ARN")
        name = match["name"]
        account = match["account"] or match["partial_account"] or DEFAULT_ACCOUNT_ID
        arn = f"arn:aws:lambda:{match['region'] or self.region}:{account}:function:{name}"
        route = route_function(name)
        if route is None:
            log.info("lambda %s: no emulator registered for it (GET /lambda)", name)
            raise _lambda_error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        endpoint, binary = route
        body = Payload.encode() if isinstance(Payload, str) else (Payload or b"{}")
        url = f"{endpoint}/2015-03-31/functions/{quote(binary, safe='')}/invocations"
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT) as answer:
                status, payload = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        except OSError as exc:
            log.info("lambda %s -> %s: no answer (%s)", name, url, exc)
            raise _lambda_error(500, "ServiceException", f"The Lambda emulator at {endpoint} did not answer: {exc}") from exc
        log.info("lambda %s -> %s: %d (%.2f s)", name, url, status, time.monotonic() - started)

        result: dict[str, Any] = {
            "ResponseMetadata": _metadata(200, str(uuid.uuid4())),
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
        }
        if 200 <= status < 300:
            result["Payload"] = io.BytesIO(payload)
            return result
        if status == 404 and b"Missing function" in payload:
            raise _lambda_error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        try:
            error = json.loads(payload)
        except ValueError:
            error = None
        if isinstance(error, dict) and isinstance(error.get("errorType"), str):
            result["FunctionError"] = "Unhandled"
            result["Payload"] = io.BytesIO(payload)
            return result
        text = payload[:500].decode("utf-8", "replace")
        raise _lambda_error(500, "ServiceException", f"The Lambda emulator at {endpoint} answered {status}: {text}")


_moto_boto_client_for = lambda_eval_utils.boto_client_for


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's client for every service but Lambda, which goes to the emulators."""
    if service == "lambda":
        return EmulatorLambdaClient(region)
    return _moto_boto_client_for(region=region, service=service, state_credentials=state_credentials)


# Read on every Step Functions request: executions run in moto's interpreter.
default_user_config["stepfunctions"] = {"execute_state_machine": True}
# moto's other service integrations call http://localhost:$MOTO_PORT.
os.environ["MOTO_PORT"] = str(PORT)
lambda_eval_utils.boto_client_for = boto_client_for  # type: ignore[assignment]
kubeapi.EXTRA_ROUTES["lambda"] = lambda_admin


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------


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
    for port, variable in ((PORT, "LOCAL_CLOUD_MOTO_PORT"), (KUBE_ADMIN_PORT, "LOCAL_CLOUD_KUBE_ADMIN_PORT")):
        if not _port_free(port):
            log.error("port %s:%d (%s) is already in use", HOST, port, variable)
            return 1
    _warm()

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    # The admin API first: once moto answers, both do.
    admin = kubeapi.start_admin(HOST, KUBE_ADMIN_PORT)
    server = ThreadedMotoServer(ip_address=HOST, port=PORT, verbose=False)
    server.start()
    log.info("moto listening on http://%s:%d (pid %d)", HOST, PORT, os.getpid())
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
