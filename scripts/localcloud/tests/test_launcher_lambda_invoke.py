"""Lambda's own ``Invoke`` API on the local cloud's moto: a function name the
emulator registry routes reaches its emulator and answers as Lambda does over
HTTP; every other name, and every other Lambda call, is moto's own."""

from __future__ import annotations

import http.server
import io
import json
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import launcher  # noqa: E402
import moto_patches  # noqa: E402
from supervisor import free_port  # noqa: E402

ACCOUNT = "123456789012"
REGION = "eu-west-1"


class EmulatorStub(http.server.BaseHTTPRequestHandler):
    """Answers like cargo lambda watch: per binary, a status and a body."""

    answers: dict[str, tuple[int, bytes]] = {
        "ok": (200, b'{"probe": "permissions", "allowed": true}'),
        "fails": (500, b'{"errorType": "AccessDenied", "errorMessage": "eks:DescribeCluster denied"}'),
        "broken": (502, b"Bad Gateway"),
    }
    # (emulator port, path, body) of every invocation, in order
    seen: list[tuple[int, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        EmulatorStub.seen.append((self.server.server_address[1], self.path, body))
        status, answer = self.answers.get(self.path.split("/")[3], (404, b"Missing function"))
        self.send_response(status)
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: object) -> None:
        pass


def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def emulators() -> Iterator[tuple[int, int]]:
    """Two emulators: one for environment ``rd``, one for ``rd-blue``."""
    servers = [_serve(EmulatorStub), _serve(EmulatorStub)]
    yield tuple(server.server_address[1] for server in servers)  # type: ignore[misc]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def registry(emulators: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The patch in place, wired to the launcher's registry with ``rd`` and ``rd-blue``."""
    from moto.awslambda.responses import LambdaResponse

    monkeypatch.setattr(LambdaResponse, "invoke", moto_patches.wrap_lambda_invoke(LambdaResponse.invoke))
    monkeypatch.setattr(moto_patches, "_wiring", moto_patches.Wiring(route_lambda=launcher.route_function))
    launcher._emulators.clear()
    for environment, port in zip(("rd", "rd-blue"), emulators, strict=True):
        launcher.lambda_admin(
            "PUT", [environment], lambda port=port: {"endpoint": f"http://127.0.0.1:{port}"}
        )
    EmulatorStub.seen.clear()
    yield
    launcher._emulators.clear()


@pytest.fixture
def lam(moto_endpoint: str, registry: None) -> object:
    # One attempt: a retried 500 would reach the emulator again.
    return boto3.client(
        "lambda",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


PROBE = b'{"probe": "permissions"}'


# --- routed: the emulator's answer, as Lambda answers -----------------------------------


def test_a_routed_function_answers_its_payload_as_lambda_does(lam, emulators) -> None:
    result = lam.invoke(FunctionName="rd-ok", InvocationType="RequestResponse", Payload=PROBE)
    assert result["StatusCode"] == 200
    assert result["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in result
    assert json.loads(result["Payload"].read()) == {"probe": "permissions", "allowed": True}
    headers = result["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/json"
    assert headers["x-amzn-requestid"]
    assert EmulatorStub.seen == [(emulators[0], "/2015-03-31/functions/ok/invocations", PROBE)]


def test_no_invocation_type_is_request_response_and_no_payload_is_an_empty_event(lam, emulators) -> None:
    result = lam.invoke(FunctionName="rd-ok")
    assert result["StatusCode"] == 200
    assert EmulatorStub.seen == [(emulators[0], "/2015-03-31/functions/ok/invocations", b"{}")]


def test_the_longest_registered_environment_serves_the_name(lam, emulators) -> None:
    lam.invoke(FunctionName="rd-blue-ok", Payload=PROBE)
    # "rd-bluegreen" is no environment: this is binary "bluegreen-ok" of rd, which rd lacks.
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="rd-bluegreen-ok", Payload=PROBE)
    assert [(port, path) for port, path, _ in EmulatorStub.seen] == [
        (emulators[1], "/2015-03-31/functions/ok/invocations"),
        (emulators[0], "/2015-03-31/functions/bluegreen-ok/invocations"),
    ]


@pytest.mark.parametrize(
    ("function_name", "qualifier"),
    [
        ("rd-ok:live", None),
        ("rd-ok", "7"),
        (f"{ACCOUNT}:function:rd-ok", None),
        (f"{ACCOUNT}:function:rd-ok:$LATEST", None),
        (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rd-ok", None),
        (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rd-ok:live", "live"),
    ],
)
def test_names_arns_and_qualifiers_reach_the_same_binary(
    lam, emulators, function_name: str, qualifier: str | None
) -> None:
    extra = {"Qualifier": qualifier} if qualifier else {}
    result = lam.invoke(FunctionName=function_name, Payload=PROBE, **extra)
    assert result["StatusCode"] == 200
    assert result["ExecutedVersion"] == "$LATEST"
    assert EmulatorStub.seen == [(emulators[0], "/2015-03-31/functions/ok/invocations", PROBE)]


def test_a_function_error_is_200_with_unhandled_and_the_error_body(lam) -> None:
    result = lam.invoke(FunctionName="rd-fails", Payload=PROBE)
    assert result["StatusCode"] == 200
    assert result["FunctionError"] == "Unhandled"
    assert result["ExecutedVersion"] == "$LATEST"
    assert json.loads(result["Payload"].read()) == {
        "errorType": "AccessDenied",
        "errorMessage": "eks:DescribeCluster denied",
    }
    assert result["ResponseMetadata"]["HTTPHeaders"]["x-amz-function-error"] == "Unhandled"


# --- routed: Lambda's own errors ---------------------------------------------------------


def test_a_binary_the_emulator_lacks_is_resource_not_found(lam, emulators) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as error:
        lam.invoke(FunctionName=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rd-check-derp-peers:live")
    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ResourceNotFoundException"
    assert response["Error"]["Message"] == (
        f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:rd-check-derp-peers"
    )
    assert response["Type"] == "User"
    assert EmulatorStub.seen[-1][:2] == (emulators[0], "/2015-03-31/functions/check-derp-peers/invocations")


def test_an_emulator_that_does_not_answer_is_a_service_exception(lam) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    launcher.lambda_admin("PUT", ["gone"], lambda: {"endpoint": dead})
    with pytest.raises(lam.exceptions.ServiceException) as error:
        lam.invoke(FunctionName="gone-verify-recovery", Payload=PROBE)
    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ServiceException"
    assert response["Error"]["Message"].startswith(f"The Lambda emulator at {dead} did not answer")
    assert response["Type"] == "Service"


def test_an_emulator_answering_something_else_is_a_service_exception(lam) -> None:
    with pytest.raises(lam.exceptions.ServiceException) as error:
        lam.invoke(FunctionName="rd-broken")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "answered 502: Bad Gateway" in error.value.response["Error"]["Message"]


# --- routed: the other invocation types --------------------------------------------------


def test_an_event_is_accepted_at_once_and_then_runs(lam, emulators) -> None:
    result = lam.invoke(FunctionName="rd-ok", InvocationType="Event", Payload=PROBE)
    assert result["StatusCode"] == 202
    assert result["Payload"].read() == b""
    deadline = time.monotonic() + 5
    while not EmulatorStub.seen and time.monotonic() < deadline:
        time.sleep(0.02)
    assert EmulatorStub.seen == [(emulators[0], "/2015-03-31/functions/ok/invocations", PROBE)]


def test_a_dry_run_answers_204_and_runs_nothing(lam) -> None:
    result = lam.invoke(FunctionName="rd-ok", InvocationType="DryRun", Payload=PROBE)
    assert result["StatusCode"] == 204
    assert result["Payload"].read() == b""
    time.sleep(0.2)
    assert EmulatorStub.seen == []


# --- not routed: moto's own Lambda -------------------------------------------------------


@pytest.fixture
def moto_functions(lam, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Functions made in moto's Lambda; moto answers their Invoke without Docker."""
    from moto.core.models import default_user_config

    monkeypatch.setitem(default_user_config, "lambda", {"use_docker": False})
    iam = boto3.client(
        "iam",
        region_name=REGION,
        endpoint_url=lam.meta.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    role = iam.create_role(RoleName="invoke-test-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("bootstrap", "")
    names = ["other-reconcile", "rd-made-by-moto"]
    for name in names:
        lam.create_function(
            FunctionName=name,
            Runtime="provided.al2023",
            Role=role,
            Handler="bootstrap",
            Code={"ZipFile": code.getvalue()},
        )
    yield names
    for name in names:
        lam.delete_function(FunctionName=name)
    iam.delete_role(RoleName="invoke-test-role")


def test_a_name_no_environment_routes_is_invoked_by_moto(lam, moto_functions) -> None:
    result = lam.invoke(FunctionName="other-reconcile", Payload=PROBE)
    assert result["StatusCode"] == 200
    # moto's Lambda without Docker echoes the event.
    assert result["Payload"].read() == PROBE
    assert EmulatorStub.seen == []


def test_an_unknown_name_no_environment_routes_is_motos_not_found(lam) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as error:
        lam.invoke(FunctionName="nobody-reconcile")
    # moto's own error body ({"__type", "message"}) has no "Type".
    assert "Type" not in error.value.response
    assert EmulatorStub.seen == []


def test_only_invoke_is_routed(lam, moto_functions) -> None:
    configuration = lam.get_function_configuration(FunctionName="rd-made-by-moto")
    assert configuration["FunctionName"] == "rd-made-by-moto"
    assert EmulatorStub.seen == []
    # Its Invoke goes to the emulator registered for rd, which has no such binary.
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="rd-made-by-moto")
    assert EmulatorStub.seen[-1][1] == "/2015-03-31/functions/made-by-moto/invocations"


# --- the answer itself -------------------------------------------------------------------


def test_lambdas_error_answer_is_its_rest_json_error(emulators) -> None:
    function = moto_patches.function_ref("rd-nothing", REGION, ACCOUNT)
    assert function is not None
    route = (f"http://127.0.0.1:{emulators[0]}", "nothing")
    status, headers, body = moto_patches.emulator_invoke_answer(function, route, "RequestResponse", PROBE)
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert headers["status"] == "404"
    assert json.loads(body) == {
        "Type": "User",
        "message": f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:rd-nothing",
    }


def test_an_unknown_invocation_type_is_refused_by_name(emulators) -> None:
    function = moto_patches.function_ref("rd-ok", REGION, ACCOUNT)
    assert function is not None
    route = (f"http://127.0.0.1:{emulators[0]}", "ok")
    status, headers, body = moto_patches.emulator_invoke_answer(function, route, "Later", PROBE)
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "InvalidParameterValueException"
    assert "InvocationType 'Later'" in json.loads(body)["message"]


def test_lambda_invoke_is_one_of_the_patches() -> None:
    by_name = {patch.name: patch for patch in moto_patches.PATCHES}
    assert by_name["lambda-invoke"].target == "moto.awslambda.responses:LambdaResponse.invoke"
    assert by_name["lambda-invoke"].replacement is moto_patches.wrap_lambda_invoke
