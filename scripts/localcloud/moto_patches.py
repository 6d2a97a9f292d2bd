"""Every change the local cloud makes to moto's internals, in one place.

The changes replace private moto functions and methods, so they are written
for one moto version: the one scripts/tools pins (``PINNED_MOTO_VERSION``).
``apply`` checks that version, then that every target exists, before it
changes anything. A mismatch stops the launcher with a message naming the
patch, instead of a local cloud that answers as moto would and fails tests
far from the cause. The other moto internals the replacements use are
imported where they are used, so importing this module works with any moto
and the check can say what is wrong.

What each change does is described in launcher.py (the local cloud's
reference) and, briefly, beside each ``Patch`` below.
"""

from __future__ import annotations

import copy
import importlib
import io
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError

PINNED_MOTO_VERSION = "5.2.5"


class MotoPatchError(RuntimeError):
    """moto is not what the patches were written for."""


def require_pinned_moto(installed: str | None = None) -> str:
    """The installed moto version, if it is the pinned one; else MotoPatchError."""
    if installed is None:
        try:
            installed = metadata.version("moto")
        except metadata.PackageNotFoundError as exc:
            raise MotoPatchError(
                "moto is not installed in this Python environment: run scripts/tools"
            ) from exc
    if installed != PINNED_MOTO_VERSION:
        raise MotoPatchError(
            f"moto {installed} is installed, but the local cloud's moto patches (scripts/localcloud/"
            f"moto_patches.py) are written for moto {PINNED_MOTO_VERSION}, the version scripts/tools pins: "
            "run scripts/tools --force, or check every patch against the new moto and change the pin"
        )
    return installed


log = logging.getLogger("local-cloud")


# ---------------------------------------------------------------------------
# The guard
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Patch:
    """One replaced moto attribute (or one item of a moto mapping)."""

    # How errors and logs name it.
    name: str
    # "package.module:Class.attribute" or "package.module:attribute".
    target: str
    # Given moto's original value, answers what replaces it.
    replacement: Callable[[Any], Any]
    # When set, the target is a mapping and only this item is replaced.
    item: str | None = None

    @property
    def module_name(self) -> str:
        return self.target.partition(":")[0]

    @property
    def path(self) -> list[str]:
        return self.target.partition(":")[2].split(".")


@dataclass
class Resolved:
    patch: Patch
    owner: Any
    attribute: str
    original: Any


def resolve(patch: Patch) -> Resolved:
    """The patch's owner object and current value; MotoPatchError naming the
    patch and the first part of its target that is missing."""
    problem = f"moto patch '{patch.name}' ({patch.target}) cannot be applied to moto {PINNED_MOTO_VERSION}"
    if not patch.module_name or not all(patch.path):
        raise MotoPatchError(f"{problem}: the target is not 'module:attribute'")
    try:
        owner: Any = importlib.import_module(patch.module_name)
    except ImportError as exc:
        raise MotoPatchError(f"{problem}: module {patch.module_name} is missing ({exc})") from exc
    *parents, attribute = patch.path
    walked = patch.module_name
    for part in parents:
        if not hasattr(owner, part):
            raise MotoPatchError(f"{problem}: {walked} has no attribute {part}")
        owner, walked = getattr(owner, part), f"{walked}.{part}"
    if not hasattr(owner, attribute):
        raise MotoPatchError(f"{problem}: {walked} has no attribute {attribute}")
    original = getattr(owner, attribute)
    if patch.item is not None:
        if not isinstance(original, dict) or patch.item not in original:
            raise MotoPatchError(
                f"{problem}: {walked}.{attribute} is not a mapping with the key {patch.item!r}"
            )
        original = original[patch.item]
    return Resolved(patch, owner, attribute, original)


def check(patches: list[Patch]) -> list[Resolved]:
    """Every patch resolved, or MotoPatchError naming every one that is not."""
    resolved, problems = [], []
    for patch in patches:
        try:
            resolved.append(resolve(patch))
        except MotoPatchError as exc:
            problems.append(str(exc))
    if problems:
        raise MotoPatchError("\n".join(problems))
    return resolved


def install(patches: list[Patch]) -> None:
    """All the patches or, when one target is missing, none."""
    for entry in check(patches):
        new = entry.patch.replacement(entry.original)
        if entry.patch.item is not None:
            getattr(entry.owner, entry.attribute)[entry.patch.item] = new
        else:
            setattr(entry.owner, entry.attribute, new)


# ---------------------------------------------------------------------------
# What the patches talk to (set by ``apply``)
# ---------------------------------------------------------------------------


class KubeCluster(Protocol):
    endpoint: str
    ca_data: str
    scenario: dict[str, Any]

    def serves_platform(self) -> tuple[bool, str]: ...


class KubeClusters(Protocol):
    """kubeapi.REGISTRY: one local Kubernetes API per EKS cluster."""

    def create(self, account: str, region: str, name: str) -> Any: ...
    def get(self, account: str, region: str, name: str) -> KubeCluster | None: ...
    def remove(self, account: str, region: str, name: str) -> None: ...
    def remove_region(self, account: str, region: str) -> None: ...


# A function name -> (emulator endpoint, binary), when an emulator is registered for it.
LambdaRoute = Callable[[str], tuple[str, str] | None]


@dataclass
class Wiring:
    clusters: KubeClusters | None = None
    route_lambda: LambdaRoute | None = None


_wiring = Wiring()


def _clusters() -> KubeClusters:
    if _wiring.clusters is None:
        raise RuntimeError("moto_patches.apply() was not called")
    return _wiring.clusters


# ---------------------------------------------------------------------------
# Route 53 GetHealthCheckStatus: answers follow the health check's tags
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


def parse_sequence(tag_value: str) -> list[str]:
    from moto.route53.exceptions import InvalidInput

    values = []
    for raw in tag_value.split(","):
        word = raw.strip()
        if not word:
            continue
        canonical = word.capitalize()
        if canonical not in STATUS_TEXT and canonical != PLATFORM:
            raise InvalidInput(f"Tag {STATUS_TAG}: '{word}' is not Success, Failure or Platform")
        values.append(canonical)
    return values


def next_status(health_check_id: str, tag_value: str | None) -> str:
    """The value this call answers (maybe ``Platform``); advances the cursor."""
    sequence = parse_sequence(tag_value or "")
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


def forget_cursor(health_check_id: str) -> None:
    with _cursors_lock:
        _cursors.pop(health_check_id, None)


def platform_status(account: str, health_check_id: str, cluster_tag: str | None) -> str:
    """``Platform``: Success when the tagged cluster serves the platform."""
    from moto.route53.exceptions import InvalidInput

    region, _, cluster_name = (cluster_tag or "").partition("/")
    if not region or not cluster_name:
        raise InvalidInput(
            f"Tag {STATUS_TAG}: {PLATFORM} needs the tag {CLUSTER_TAG} = "
            f"<region>/<cluster name> on health check {health_check_id}"
        )
    kube = _clusters().get(account, region, cluster_name)
    if kube is None:
        served, why = False, "no such cluster"
    else:
        served, why = kube.serves_platform()
    status = "Success" if served else "Failure"
    log.info(
        "health check %s: %s %s/%s -> %s (%s)", health_check_id, PLATFORM, region, cluster_name, status, why
    )
    return status


def health_check_observations(status: str) -> dict[str, Any]:
    """What every Route 53 checker reports for one call."""
    from moto.core.utils import utcnow

    checked = utcnow()
    return {
        "HealthCheckObservations": [
            {
                "Region": region,
                "IPAddress": address,
                "StatusReport": {"Status": STATUS_TEXT[status], "CheckedTime": checked},
            }
            for region, address in CHECKERS
        ]
    }


def get_health_check_status(self: Any) -> Any:
    """Replaces moto.route53.responses.Route53.get_health_check_status."""
    from moto.core.responses import ActionResult

    health_check_id = self._get_param("HealthCheckId")
    self.backend.get_health_check(health_check_id)  # NoSuchHealthCheck
    tags = self.backend.list_tags_for_resource(health_check_id)
    status = next_status(health_check_id, tags.get(STATUS_TAG))
    if status == PLATFORM:
        status = platform_status(self.current_account, health_check_id, tags.get(CLUSTER_TAG))
    return ActionResult(health_check_observations(status))


def wrap_change_tags(moto_change_tags: Callable[..., Any]) -> Callable[..., Any]:
    def change_tags_for_resource(self, resource_type, resource_id, add_tags, remove_tag_keys):  # type: ignore[no-untyped-def]
        """moto's own behaviour; a write of the status tag restarts the sequence."""
        moto_change_tags(self, resource_type, resource_id, add_tags, remove_tag_keys)
        written = [t.get("Key") for t in add_tags or []] + list(remove_tag_keys or [])
        if STATUS_TAG in written:
            forget_cursor(resource_id)

    return change_tags_for_resource


# ---------------------------------------------------------------------------
# EKS: a local Kubernetes API per cluster, DescribeCluster points at it
# ---------------------------------------------------------------------------


def wrap_create_cluster(moto_create_cluster: Callable[..., Any]) -> Callable[..., Any]:
    def create_cluster(self, name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        """moto's own behaviour, then a Kubernetes API for the new cluster."""
        cluster = moto_create_cluster(self, name, *args, **kwargs)
        try:
            _clusters().create(self.account_id, self.region_name, name)
        except Exception:
            self.clusters.pop(name, None)  # no cluster without its API
            self.cluster_count -= 1
            raise
        return cluster

    return create_cluster


def wrap_delete_cluster(moto_delete_cluster: Callable[..., Any]) -> Callable[..., Any]:
    def delete_cluster(self, name: str):  # type: ignore[no-untyped-def]
        cluster = moto_delete_cluster(self, name)
        _clusters().remove(self.account_id, self.region_name, name)
        return cluster

    return delete_cluster


def wrap_eks_reset(moto_reset: Callable[..., Any]) -> Callable[..., Any]:
    def reset(self) -> None:  # type: ignore[no-untyped-def]
        _clusters().remove_region(self.account_id, self.region_name)
        moto_reset(self)

    return reset


def describe_cluster(self: Any) -> Any:
    """Replaces moto.eks.responses.EKSResponse.describe_cluster."""
    from moto.core.responses import ActionResult

    name = self._get_param("name")
    cluster = self.eks_backend.describe_cluster(name=name)  # ResourceNotFoundException
    kube = _clusters().get(self.current_account, self.region, name)
    if kube is None:
        return ActionResult({"cluster": cluster})
    shown = copy.copy(cluster)
    shown.endpoint = kube.endpoint
    shown.certificate_authority = {"data": kube.ca_data}
    shown.status = kube.scenario["cluster_status"]
    return ActionResult({"cluster": shown})


# ---------------------------------------------------------------------------
# Lambda: Step Functions tasks and Invoke calls go to the Lambda runtime emulators
# ---------------------------------------------------------------------------

# A function name, a partial ARN (ACCOUNT:function:NAME) or a full ARN, each
# with an optional qualifier.
FUNCTION_RE = re.compile(
    r"(?:arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"|(?P<partial_account>\d{12}):function:)?"
    r"(?P<name>[A-Za-z0-9_.-]+)(?::(?P<qualifier>[A-Za-z0-9_$-]+))?"
)
INVOKE_TIMEOUT = 900  # Lambda's longest function timeout; a task's TimeoutSeconds comes first
EXECUTED_VERSION = "$LATEST"  # cargo lambda serves one version of each binary


def _metadata(status: int, request_id: str) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "HTTPStatusCode": status,
        "HTTPHeaders": {"x-amzn-requestid": request_id, "content-type": "application/json"},
        "RetryAttempts": 0,
    }


def lambda_error(status: int, code: str, message: str) -> ClientError:
    """What botocore raises for a Lambda error answer."""
    request_id = str(uuid.uuid4())
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": _metadata(status, request_id)},
        "Invoke",
    )


class LambdaFault(Exception):
    """An error of Lambda itself (not of the function), as Lambda's API answers it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def client_error(self) -> ClientError:
        return lambda_error(self.status, self.code, self.message)

    def http_answer(self) -> tuple[int, dict[str, str], bytes]:
        body = {"Type": "User" if self.status < 500 else "Service", "message": self.message}
        headers = {
            "status": str(self.status),
            "content-type": "application/json",
            "x-amzn-ErrorType": self.code,
        }
        return self.status, headers, json.dumps(body).encode()


@dataclass(frozen=True)
class FunctionRef:
    name: str
    # Without the qualifier: the emulator has one version, and errors name the function.
    arn: str


def function_ref(function_name: str | None, region: str, account: str) -> FunctionRef | None:
    """The function a ``FunctionName`` names, or None when it is no name or ARN."""
    match = FUNCTION_RE.fullmatch(function_name or "")
    if match is None:
        return None
    name = match["name"]
    account = match["account"] or match["partial_account"] or account
    return FunctionRef(name, f"arn:aws:lambda:{match['region'] or region}:{account}:function:{name}")


def function_not_found(function: FunctionRef) -> LambdaFault:
    return LambdaFault(404, "ResourceNotFoundException", f"Function not found: {function.arn}")


@dataclass(frozen=True)
class Invocation:
    """What the function answered: its payload, or its error (``FunctionError``)."""

    payload: bytes
    function_error: str | None = None


def invoke_emulator(function: FunctionRef, route: tuple[str, str], payload: bytes) -> Invocation:
    """Runs the function in its emulator (``route``: endpoint, binary) and reads
    the answer as Lambda reports it; LambdaFault when Lambda itself would fail."""
    endpoint, binary = route
    url = f"{endpoint}/2015-03-31/functions/{quote(binary, safe='')}/invocations"
    request = urllib.request.Request(
        url, data=payload or b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT) as answer:
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except OSError as exc:
        log.info("lambda %s -> %s: no answer (%s)", function.name, url, exc)
        raise LambdaFault(
            500, "ServiceException", f"The Lambda emulator at {endpoint} did not answer: {exc}"
        ) from exc
    log.info("lambda %s -> %s: %d (%.2f s)", function.name, url, status, time.monotonic() - started)

    if 200 <= status < 300:
        return Invocation(body)
    if status == 404 and b"Missing function" in body:
        raise function_not_found(function)
    try:
        error = json.loads(body)
    except ValueError:
        error = None
    # cargo lambda answers a function's error with HTTP 500 and no X-Amz-Function-Error.
    if isinstance(error, dict) and isinstance(error.get("errorType"), str):
        return Invocation(body, function_error="Unhandled")
    text = body[:500].decode("utf-8", "replace")
    raise LambdaFault(500, "ServiceException", f"The Lambda emulator at {endpoint} answered {status}: {text}")


def _route_lambda() -> LambdaRoute:
    return _wiring.route_lambda or (lambda _name: None)


class EmulatorLambdaClient:
    """The part of a boto3 Lambda client moto's Lambda tasks use: ``invoke``."""

    def __init__(self, region: str, route: LambdaRoute) -> None:
        self.region = region
        self.route = route

    def invoke(
        self, FunctionName: str, Payload: bytes | str | None = None, **_ignored: Any
    ) -> dict[str, Any]:  # noqa: N803 - boto3's names
        from moto.core import DEFAULT_ACCOUNT_ID

        function = function_ref(FunctionName, self.region, DEFAULT_ACCOUNT_ID)
        if function is None:
            raise lambda_error(
                400,
                "InvalidParameterValueException",
                f"FunctionName {FunctionName!r} is not a function name or ARN",
            )
        route = self.route(function.name)
        body = Payload.encode() if isinstance(Payload, str) else (Payload or b"{}")
        try:
            if route is None:
                log.info("lambda %s: no emulator registered for it (GET /lambda)", function.name)
                raise function_not_found(function)
            invocation = invoke_emulator(function, route, body)
        except LambdaFault as fault:
            raise fault.client_error() from fault
        result: dict[str, Any] = {
            "ResponseMetadata": _metadata(200, str(uuid.uuid4())),
            "StatusCode": 200,
            "ExecutedVersion": EXECUTED_VERSION,
            "Payload": io.BytesIO(invocation.payload),
        }
        if invocation.function_error:
            result["FunctionError"] = invocation.function_error
        return result


def wrap_boto_client_for(moto_boto_client_for: Callable[..., Any]) -> Callable[..., Any]:
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        """moto's client for every service but Lambda, which goes to the emulators."""
        if service == "lambda":
            return EmulatorLambdaClient(region, _route_lambda())
        return moto_boto_client_for(region=region, service=service, state_credentials=state_credentials)

    return boto_client_for


def _invoke_in_background(function: FunctionRef, route: tuple[str, str], payload: bytes) -> None:
    # An Event invocation's outcome reaches no caller on AWS either (no destinations here).
    def run() -> None:
        try:
            invocation = invoke_emulator(function, route, payload)
        except LambdaFault as fault:
            log.info("lambda %s (Event): %s %s", function.name, fault.code, fault.message)
            return
        if invocation.function_error:
            log.info("lambda %s (Event): function error %s", function.name, invocation.payload[:500])

    threading.Thread(target=run, name=f"lambda-event-{function.name}", daemon=True).start()


def emulator_invoke_answer(
    function: FunctionRef, route: tuple[str, str], invocation_type: str, payload: bytes
) -> tuple[int, dict[str, str], bytes]:
    """Lambda's HTTP answer to ``Invoke`` of a function an emulator serves."""
    if invocation_type == "RequestResponse":
        try:
            invocation = invoke_emulator(function, route, payload)
        except LambdaFault as fault:
            return fault.http_answer()
        headers = {
            "status": "200",
            "content-type": "application/json",
            "X-Amz-Executed-Version": EXECUTED_VERSION,
        }
        if invocation.function_error:
            headers["X-Amz-Function-Error"] = invocation.function_error
        return 200, headers, invocation.payload
    if invocation_type == "Event":
        _invoke_in_background(function, route, payload)
        return 202, {"status": "202"}, b""
    if invocation_type == "DryRun":
        # Lambda only checks the caller and the function; nothing runs (the binary is not looked up).
        return 204, {"status": "204"}, b""
    return LambdaFault(
        400,
        "InvalidParameterValueException",
        f"InvocationType {invocation_type!r}: expected RequestResponse, Event or DryRun",
    ).http_answer()


def wrap_lambda_invoke(moto_invoke: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(self):  # type: ignore[no-untyped-def]
        """moto's own Invoke, unless an emulator is registered for the function."""
        name = unquote(self.path.rsplit("/", 2)[-2])
        function = function_ref(name, self.region, self.current_account)
        route = _route_lambda()(function.name) if function else None
        if function is None or route is None:
            return moto_invoke(self)
        raw = self.raw_body
        payload = raw.encode() if isinstance(raw, str) else (raw or b"")
        invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        return emulator_invoke_answer(function, route, invocation_type, payload)

    return invoke


def wrap_set_stop(moto_set_stop: Callable[..., Any]) -> Callable[..., Any]:
    """StopExecution ends an execution at once on AWS, also while a task
    waits for its token; moto's interpreter would wait out the task's
    timeout. Stopping interrupts every callback wait of the execution, so
    the task ends now and the stopped execution with it (ABORTED)."""

    def set_stop(self: Any, stop_date: Any, cause: str | None, error: str | None) -> None:
        moto_set_stop(self, stop_date=stop_date, cause=cause, error=error)
        for endpoint in list(self.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()

    return set_stop


def wrap_set_error(moto_set_error: Callable[..., Any]) -> Callable[..., Any]:
    """A stopped execution stays ABORTED: the task its stop interrupted
    ends with an error, which moto's interpreter would make the
    execution's (FAILED)."""
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    def set_error(self: Any, error: Any) -> None:
        if isinstance(self.program_state(), ProgramStopped):
            return
        moto_set_error(self, error=error)

    return set_error


# ---------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------

LAMBDA_EVAL_UTILS = "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils"

PATCHES = [
    # moto always answers one healthy observation: a failing region could not be shown.
    Patch(
        "route53-health-check-status",
        "moto.route53.responses:Route53.get_health_check_status",
        lambda _moto: get_health_check_status,
    ),
    # A rewritten status tag starts its sequence over.
    Patch(
        "route53-change-tags",
        "moto.route53.models:Route53Backend.change_tags_for_resource",
        wrap_change_tags,
    ),
    # Each EKS cluster gets (and loses) its local Kubernetes API with it.
    Patch("eks-create-cluster", "moto.eks.models:EKSBackend.create_cluster", wrap_create_cluster),
    Patch("eks-delete-cluster", "moto.eks.models:EKSBackend.delete_cluster", wrap_delete_cluster),
    Patch("eks-reset", "moto.eks.models:EKSBackend.reset", wrap_eks_reset),
    # moto answers an unreachable endpoint and a CA that is not a certificate.
    Patch(
        "eks-describe-cluster",
        "moto.eks.responses:EKSResponse.describe_cluster",
        lambda _moto: describe_cluster,
    ),
    # The workflow's Lambda tasks would go to moto's Lambda, where the functions do not exist.
    Patch("stepfunctions-lambda-client", f"{LAMBDA_EVAL_UTILS}:boto_client_for", wrap_boto_client_for),
    # The functions' own Invoke calls would go to moto's Lambda too.
    Patch("lambda-invoke", "moto.awslambda.responses:LambdaResponse.invoke", wrap_lambda_invoke),
    # A stopped execution would wait in a .waitForTaskToken task until its timeout.
    Patch(
        "stepfunctions-stop-ends-callback-waits",
        "moto.stepfunctions.parser.asl.eval.environment:Environment.set_stop",
        wrap_set_stop,
    ),
    Patch(
        "stepfunctions-stopped-stays-aborted",
        "moto.stepfunctions.parser.asl.eval.environment:Environment.set_error",
        wrap_set_error,
    ),
    # Read on every Step Functions request: executions run in moto's interpreter.
    Patch(
        "stepfunctions-execute-state-machine",
        "moto.core.config:default_user_config",
        lambda _moto: {"execute_state_machine": True},
        item="stepfunctions",
    ),
]

_applied = False
_applied_lock = threading.Lock()


def apply(clusters: KubeClusters, route_lambda: LambdaRoute) -> None:
    """Installs every patch (once), wired to the local Kubernetes APIs and the
    Lambda emulator registry; MotoPatchError, changing nothing, when moto is
    not what they were written for."""
    global _applied
    with _applied_lock:
        if not _applied:
            require_pinned_moto()
            install(PATCHES)
            _applied = True
        _wiring.clusters = clusters
        _wiring.route_lambda = route_lambda
