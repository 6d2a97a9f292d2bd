"""The launcher's Lambda emulator registry (admin API ``/lambda``) and the
routing of a workflow task's function name to an emulator."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kubeapi  # noqa: E402
import launcher  # noqa: E402


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    launcher._emulators.clear()
    yield
    launcher._emulators.clear()


def put(environment: str, endpoint: str) -> tuple[int, object]:
    return launcher.lambda_admin("PUT", [environment], lambda: {"endpoint": endpoint})


def test_a_function_goes_to_the_longest_registered_environment() -> None:
    put("drill", "http://127.0.0.1:9001")
    put("drill-crashloop", "http://127.0.0.1:9002/")
    assert launcher.route_function("drill-crashloop-restore-platform") == (
        "http://127.0.0.1:9002",
        "restore-platform",
    )
    assert launcher.route_function("drill-reconcile") == ("http://127.0.0.1:9001", "reconcile")
    # The environment name alone, or a name that only shares a prefix, is no function of it.
    assert launcher.route_function("drill-") is None
    assert launcher.route_function("drillx-reconcile") is None


def test_the_registry_answers_put_get_list_and_delete() -> None:
    assert put("env", "http://127.0.0.1:9001/") == (
        200,
        {"environment": "env", "endpoint": "http://127.0.0.1:9001"},
    )
    no_body = lambda: None  # noqa: E731
    assert launcher.lambda_admin("GET", ["env"], no_body) == (
        200,
        {"environment": "env", "endpoint": "http://127.0.0.1:9001"},
    )
    assert launcher.lambda_admin("GET", [], no_body) == (
        200,
        {"emulators": [{"environment": "env", "endpoint": "http://127.0.0.1:9001"}]},
    )
    assert launcher.lambda_admin("DELETE", ["env"], no_body) == (200, {"environment": "env", "removed": True})
    assert launcher.lambda_admin("DELETE", ["env"], no_body) == (
        200,
        {"environment": "env", "removed": False},
    )
    assert launcher.route_function("env-reconcile") is None


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, 'expected {"endpoint": "http://127.0.0.1:PORT"}'),
        ({"endpoint": "ftp://127.0.0.1:21"}, 400, "expected http://HOST:PORT"),
        ({"endpoint": "http://127.0.0.1:9001/?x=1"}, 400, "expected http://HOST:PORT"),
        ({"endpoint": "http://127.0.0.1:port"}, 400, "Port could not be cast"),
    ],
)
def test_a_bad_endpoint_is_refused(body: object, status: int, message: str) -> None:
    with pytest.raises(kubeapi.AdminError) as error:
        launcher.lambda_admin("PUT", ["env"], lambda: body)
    assert error.value.code == status
    assert message in str(error.value)
    assert launcher._emulators == {}


@pytest.mark.parametrize(
    ("method", "segments", "status"),
    [
        ("GET", ["nobody"], 404),
        ("POST", [], 405),
        ("POST", ["env"], 405),
        ("GET", ["a", "b"], 404),
        ("PUT", ["-bad name"], 400),
    ],
)
def test_other_requests_answer_an_admin_error(method: str, segments: list[str], status: int) -> None:
    with pytest.raises(kubeapi.AdminError) as error:
        launcher.lambda_admin(method, segments, lambda: {"endpoint": "http://127.0.0.1:1"})
    assert error.value.code == status
