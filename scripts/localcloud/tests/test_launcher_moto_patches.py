"""The guard around the moto patches (moto_patches.py): the pinned version,
every target present, all or nothing; and the replacements' own rules."""

from __future__ import annotations

import http.server
import json
import re
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import moto_patches  # noqa: E402
from moto_patches import MotoPatchError, Patch  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


# --- the version ---------------------------------------------------------------------


def test_the_pin_is_the_one_scripts_tools_installs() -> None:
    pins = re.findall(r'"moto\[server\]==([^"]+)"', (ROOT / "scripts/tools").read_text())
    assert pins == [moto_patches.PINNED_MOTO_VERSION]


def test_the_installed_moto_is_the_pinned_one() -> None:
    assert moto_patches.require_pinned_moto() == "5.2.5"


def test_another_moto_version_is_refused_naming_both_versions_and_the_fix() -> None:
    with pytest.raises(MotoPatchError) as error:
        moto_patches.require_pinned_moto("5.3.0")
    message = str(error.value)
    assert message.startswith("moto 5.3.0 is installed, but the local cloud's moto patches")
    assert "written for moto 5.2.5, the version scripts/tools pins" in message
    assert "run scripts/tools --force" in message


def test_apply_refuses_another_version_and_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.route53.responses import Route53

    before = Route53.get_health_check_status
    monkeypatch.setattr(moto_patches.metadata, "version", lambda _name: "6.0.0")
    with pytest.raises(MotoPatchError, match="moto 6.0.0 is installed"):
        moto_patches.apply(clusters=object(), route_lambda=lambda _name: None)  # type: ignore[arg-type]
    assert Route53.get_health_check_status is before
    assert not moto_patches._applied


# --- every target ----------------------------------------------------------------------


def test_every_patch_target_exists_in_the_pinned_moto() -> None:
    resolved = moto_patches.check(moto_patches.PATCHES)
    assert [entry.patch.name for entry in resolved] == [
        "route53-health-check-status",
        "route53-change-tags",
        "eks-create-cluster",
        "eks-delete-cluster",
        "eks-reset",
        "eks-describe-cluster",
        "stepfunctions-lambda-client",
        "lambda-invoke",
        "stepfunctions-stop-ends-callback-waits",
        "stepfunctions-stopped-stays-aborted",
        "stepfunctions-execute-state-machine",
    ]
    by_name = {entry.patch.name: entry for entry in resolved}
    assert by_name["stepfunctions-execute-state-machine"].original == {"execute_state_machine": False}
    assert callable(by_name["eks-describe-cluster"].original)


@pytest.mark.parametrize(
    ("target", "item", "reason"),
    [
        ("moto.route53.responses:Route53.get_health_check_status_v2", None, "Route53 has no attribute "),
        (
            "moto.route53.responses:Route54.get_health_check_status",
            None,
            "responses has no attribute Route54",
        ),
        ("moto.no_such_service.responses:X.y", None, "module moto.no_such_service.responses is missing"),
        ("moto.core.config:default_user_config", "no_such_service", "is not a mapping with the key"),
        ("moto.route53.responses", None, "the target is not 'module:attribute'"),
    ],
)
def test_a_missing_target_is_named_with_its_patch(target: str, item: str | None, reason: str) -> None:
    with pytest.raises(MotoPatchError) as error:
        moto_patches.check([Patch("the-patch", target, lambda original: original, item=item)])
    message = str(error.value)
    assert message.startswith(f"moto patch 'the-patch' ({target}) cannot be applied to moto 5.2.5: ")
    assert reason in message


def test_every_missing_target_is_reported_at_once() -> None:
    patches = [
        Patch("first", "moto.eks.models:EKSBackend.no_first", lambda o: o),
        Patch("fine", "moto.eks.models:EKSBackend.reset", lambda o: o),
        Patch("second", "moto.eks.models:EKSBackend.no_second", lambda o: o),
    ]
    with pytest.raises(MotoPatchError) as error:
        moto_patches.check(patches)
    lines = str(error.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("moto patch 'first'")
    assert lines[1].startswith("moto patch 'second'")


@pytest.fixture
def fake_moto(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("fake_moto_module")

    class Backend:
        def answer(self) -> str:
            return "moto"

    module.Backend = Backend  # type: ignore[attr-defined]
    module.config = {"stepfunctions": {"execute_state_machine": False}}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_moto_module", module)
    return module


def test_install_hands_the_original_to_the_replacement(fake_moto: types.ModuleType) -> None:
    def wrap(original):  # type: ignore[no-untyped-def]
        return lambda self: f"patched {original(self)}"

    moto_patches.install(
        [
            Patch("wrapped", "fake_moto_module:Backend.answer", wrap),
            Patch(
                "setting",
                "fake_moto_module:config",
                lambda _o: {"execute_state_machine": True},
                "stepfunctions",
            ),
        ]
    )
    assert fake_moto.Backend().answer() == "patched moto"
    assert fake_moto.config == {"stepfunctions": {"execute_state_machine": True}}


def test_install_changes_nothing_when_one_target_is_missing(fake_moto: types.ModuleType) -> None:
    original = fake_moto.Backend.answer
    with pytest.raises(MotoPatchError, match="moto patch 'missing'"):
        moto_patches.install(
            [
                Patch("fine", "fake_moto_module:Backend.answer", lambda o: lambda self: "patched"),
                Patch("missing", "fake_moto_module:Backend.gone", lambda o: o),
            ]
        )
    assert fake_moto.Backend.answer is original
    assert fake_moto.Backend().answer() == "moto"


# --- Route 53 health sequences ---------------------------------------------------------


@pytest.fixture
def cursors() -> Iterator[None]:
    moto_patches._cursors.clear()
    yield
    moto_patches._cursors.clear()


def test_each_call_answers_the_next_value_and_the_last_sticks(cursors: None) -> None:
    answers = [moto_patches.next_status("hc-1", "Failure, failure ,Success") for _ in range(4)]
    assert answers == ["Failure", "Failure", "Success", "Success"]


def test_a_new_tag_value_starts_the_sequence_over(cursors: None) -> None:
    assert moto_patches.next_status("hc-1", "Failure,Success") == "Failure"
    assert moto_patches.next_status("hc-1", "Failure,Platform") == "Failure"
    assert moto_patches.next_status("hc-1", "Failure,Platform") == "Platform"
    moto_patches.forget_cursor("hc-1")
    assert moto_patches.next_status("hc-1", "Failure,Platform") == "Failure"


def test_health_checks_keep_their_own_cursor(cursors: None) -> None:
    assert moto_patches.next_status("hc-1", "Failure,Success") == "Failure"
    assert moto_patches.next_status("hc-2", "Failure,Success") == "Failure"
    assert moto_patches.next_status("hc-1", "Failure,Success") == "Success"


@pytest.mark.parametrize("tag", [None, "", " , "])
def test_no_sequence_is_healthy(tag: str | None, cursors: None) -> None:
    assert moto_patches.next_status("hc-1", tag) == "Success"


def test_an_unknown_status_is_route53s_invalid_input() -> None:
    from moto.route53.exceptions import InvalidInput

    with pytest.raises(InvalidInput, match="'Degraded' is not Success, Failure or Platform"):
        moto_patches.parse_sequence("Success,Degraded")


class FakeCluster:
    endpoint = "https://127.0.0.1:1"
    ca_data = "Q0E="
    scenario = {"cluster_status": "ACTIVE"}

    def __init__(self, served: bool) -> None:
        self.served = served

    def serves_platform(self) -> tuple[bool, str]:
        return self.served, "1/3 pods ready" if self.served else "0/3 pods ready"


class FakeClusters:
    def __init__(self, clusters: dict[tuple[str, str, str], FakeCluster]) -> None:
        self.clusters = clusters

    def get(self, account: str, region: str, name: str) -> FakeCluster | None:
        return self.clusters.get((account, region, name))


def test_platform_follows_the_tagged_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.route53.exceptions import InvalidInput

    clusters = FakeClusters(
        {("1", "us-east-1", "up"): FakeCluster(True), ("1", "us-east-1", "down"): FakeCluster(False)}
    )
    monkeypatch.setattr(moto_patches._wiring, "clusters", clusters)
    assert moto_patches.platform_status("1", "hc", "us-east-1/up") == "Success"
    assert moto_patches.platform_status("1", "hc", "us-east-1/down") == "Failure"
    assert moto_patches.platform_status("1", "hc", "us-east-1/missing") == "Failure"
    assert moto_patches.platform_status("2", "hc", "us-east-1/up") == "Failure"
    with pytest.raises(InvalidInput, match="needs the tag local-cloud:cluster"):
        moto_patches.platform_status("1", "hc", "us-east-1")


def test_every_checker_reports_the_same_status() -> None:
    observations = moto_patches.health_check_observations("Failure")["HealthCheckObservations"]
    assert len(observations) == 8
    assert {o["StatusReport"]["Status"] for o in observations} == {
        "Failure: HTTP Status Code 503, Service Unavailable"
    }
    assert len({o["Region"] for o in observations}) == 8


# --- Step Functions Lambda tasks --------------------------------------------------------


class EmulatorStub(http.server.BaseHTTPRequestHandler):
    """Answers like cargo lambda watch: per binary, a status and a body."""

    answers: dict[str, tuple[int, bytes]] = {
        "ok": (200, b'{"decision": "act"}'),
        "fails": (500, b'{"errorType": "UpstreamUnavailable", "errorMessage": "Route 53 is down"}'),
        "broken": (502, b"Bad Gateway"),
    }
    seen: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        binary = self.path.split("/")[3]
        EmulatorStub.seen.append((self.path, body))
        status, answer = self.answers.get(binary, (404, b"Missing function"))
        self.send_response(status)
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EmulatorStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def client(endpoint: str) -> moto_patches.EmulatorLambdaClient:
    def route(name: str) -> tuple[str, str] | None:
        return (endpoint, name.removeprefix("env-")) if name.startswith("env-") else None

    return moto_patches.EmulatorLambdaClient("us-east-1", route)


def test_a_function_answer_is_shaped_like_lambdas(emulator: str) -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:env-ok:live"
    result = client(emulator).invoke(FunctionName=arn, Payload='{"incident_id": "i"}')
    assert result["StatusCode"] == 200
    assert result["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in result
    assert json.loads(result["Payload"].read()) == {"decision": "act"}
    assert result["ResponseMetadata"]["RequestId"]
    assert EmulatorStub.seen[-1] == ("/2015-03-31/functions/ok/invocations", b'{"incident_id": "i"}')


def test_a_function_error_keeps_its_type_for_retry_and_catch(emulator: str) -> None:
    result = client(emulator).invoke(FunctionName="env-fails")
    assert result["FunctionError"] == "Unhandled"
    assert json.loads(result["Payload"].read())["errorType"] == "UpstreamUnavailable"
    assert EmulatorStub.seen[-1][1] == b"{}"


@pytest.mark.parametrize(
    ("name", "status", "code", "message"),
    [
        ("env-missing", 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:"),
        ("other-ok", 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:"),
        ("env-broken", 500, "ServiceException", "answered 502: Bad Gateway"),
        ("not a name!", 400, "InvalidParameterValueException", "is not a function name or ARN"),
    ],
)
def test_lambda_errors_are_what_botocore_raises(
    emulator: str, name: str, status: int, code: str, message: str
) -> None:
    with pytest.raises(ClientError) as error:
        client(emulator).invoke(FunctionName=name)
    assert error.value.response["Error"]["Code"] == code
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert message in error.value.response["Error"]["Message"]


def test_an_emulator_that_does_not_answer_is_a_service_exception() -> None:
    from supervisor import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ClientError) as error:
        client(dead).invoke(FunctionName="env-ok")
    assert error.value.response["Error"]["Code"] == "ServiceException"
    assert f"The Lambda emulator at {dead} did not answer" in error.value.response["Error"]["Message"]


def test_only_lambda_goes_to_the_emulators(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def moto_client(region: str, service: str, state_credentials: object = None) -> str:
        calls.append((region, service, state_credentials))
        return "moto's client"

    boto_client_for = moto_patches.wrap_boto_client_for(moto_client)
    assert boto_client_for("us-east-1", "sns", {"k": "v"}) == "moto's client"
    assert calls == [("us-east-1", "sns", {"k": "v"})]
    assert isinstance(boto_client_for("us-east-1", "lambda"), moto_patches.EmulatorLambdaClient)
    assert len(calls) == 1


# --- a stopped execution ------------------------------------------------------------------


def test_stopping_an_execution_ends_its_callback_waits_at_once() -> None:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackPoolManager

    stops: list[tuple] = []

    class Environment:
        def __init__(self) -> None:
            self.callback_pool_manager = CallbackPoolManager(activity_store={})

    set_stop = moto_patches.wrap_set_stop(lambda env, **kw: stops.append((env, kw)))
    env = Environment()
    waiting = env.callback_pool_manager.generate()
    other = env.callback_pool_manager.generate()
    ended = threading.Event()

    def wait() -> None:
        waiting.wait(timeout=30)
        ended.set()

    threading.Thread(target=wait, daemon=True).start()
    set_stop(env, stop_date="now", cause="a person", error=None)
    assert ended.wait(timeout=5), "the callback wait did not end"
    assert stops == [(env, {"stop_date": "now", "cause": "a person", "error": None})]
    # No outcome: the task ends without a result, and so does the execution.
    assert waiting.get_outcome() is None and other.get_outcome() is None


def test_a_stopped_execution_keeps_its_stop_over_the_error_of_the_interrupted_task() -> None:
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning, ProgramStopped

    errors: list[str] = []

    class Environment:
        def __init__(self, state: object) -> None:
            self.state = state

        def program_state(self) -> object:
            return self.state

    set_error = moto_patches.wrap_set_error(lambda env, error: errors.append(error))
    set_error(Environment(ProgramStopped(stop_date=None, cause=None, error=None)), error="States.Timeout")
    assert errors == []
    set_error(Environment(ProgramRunning()), error="States.Timeout")
    assert errors == ["States.Timeout"]
