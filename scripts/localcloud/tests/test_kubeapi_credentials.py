"""The functions' credentials endpoint (admin API ``/credentials``): the
caller is the process holding the connection, found in /proc, and only a
function the Lambda runtime emulator runs gets its role's credentials."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubeapi import AdminError, peer, start_admin, use_credential_source  # noqa: E402

# A process that asks the endpoint, as the SDK's container provider does, and prints the answer.
ASK = """
import http.client, json, sys
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
connection.request("GET", sys.argv[2])
response = connection.getresponse()
print(json.dumps({"status": response.status, "body": json.loads(response.read())}))
"""


@pytest.fixture(scope="module")
def admin_port() -> Iterator[int]:
    server = start_admin("127.0.0.1", 0)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def issued() -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def source(environment: str, function: str) -> dict:
        calls.append((environment, function))
        if function == "unknown":
            raise AdminError(404, f"function {function} has no role")
        return {
            "AccessKeyId": "ASIAEXAMPLE",
            "SecretAccessKey": "s",
            "Token": "t",
            "Expiration": "2030-01-01T00:00:00Z",
        }

    use_credential_source(source)
    yield calls
    use_credential_source(None)


def ask(port: int, path: str, **env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")} | env
    done = subprocess.run(
        [sys.executable, "-c", ASK, str(port), path],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "restore-platform", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}


def test_a_function_gets_the_credentials_of_its_own_role(admin_port, issued) -> None:
    answer = ask(admin_port, "/credentials/env-1", **LAMBDA)
    assert answer == {
        "status": 200,
        "body": {
            "AccessKeyId": "ASIAEXAMPLE",
            "SecretAccessKey": "s",
            "Token": "t",
            "Expiration": "2030-01-01T00:00:00Z",
        },
    }
    assert issued == [("env-1", "restore-platform")], "the function is the caller's, not something it said"


def test_a_process_that_is_no_lambda_function_gets_nothing(admin_port, issued) -> None:
    answer = ask(admin_port, "/credentials/env-1")
    assert answer["status"] == 403
    assert "the process asking has no AWS_LAMBDA_FUNCTION_NAME" in answer["body"]["error"]
    half = ask(admin_port, "/credentials/env-1", AWS_LAMBDA_FUNCTION_NAME="restore-platform")
    assert half["status"] == 403, "a name alone is not a function the runtime emulator runs"
    assert issued == []


def test_the_sources_refusal_and_bad_paths_are_answered_as_errors(admin_port, issued) -> None:
    unknown = ask(admin_port, "/credentials/env-1", **{**LAMBDA, "AWS_LAMBDA_FUNCTION_NAME": "unknown"})
    assert unknown == {"status": 404, "body": {"error": "function unknown has no role"}}
    assert ask(admin_port, "/credentials/env-1/extra", **LAMBDA)["status"] == 404
    assert ask(admin_port, "/credentials/-bad", **LAMBDA)["status"] == 404


def test_without_a_source_the_endpoint_says_so(admin_port) -> None:
    use_credential_source(None)
    answer = ask(admin_port, "/credentials/env-1", **LAMBDA)
    assert answer == {"status": 404, "body": {"error": "no credential source (the launcher sets one)"}}


def test_the_peer_of_a_connection_is_the_process_that_holds_it() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import socket,sys; s=socket.create_connection(('127.0.0.1', int(sys.argv[1]))); s.recv(1)",
                str(server.getsockname()[1]),
            ],
            env={**os.environ, "LOCAL_CLOUD_PEER_TEST": "yes"},
        )
        connection, client = server.accept()
        try:
            pid = peer.process_of(client, connection.getsockname())
            assert pid == child.pid
            assert peer.environment_of(pid)["LOCAL_CLOUD_PEER_TEST"] == "yes"
        finally:
            connection.send(b"x")
            connection.close()
            child.wait(10)


def test_a_connection_no_local_process_holds_is_an_error(tmp_path) -> None:
    with pytest.raises(peer.PeerError, match="no local socket 127.0.0.1:1 -> 127.0.0.1:2"):
        peer.process_of(("127.0.0.1", 1), ("127.0.0.1", 2))
    with pytest.raises(peer.PeerError, match="callers are found on Linux only"):
        peer.process_of(("127.0.0.1", 1), ("127.0.0.1", 2), proc=tmp_path)
