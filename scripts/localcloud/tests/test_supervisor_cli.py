"""The local-cloud command (cli.py): usage and exit codes, settings, the files
other code reads, and status/down/up decisions against stand-in servers in a
state folder of the test's own (the real local cloud is never touched)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cli  # noqa: E402
import short_waits  # noqa: E402
import supervisor  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
# Serves HTTP on argv[2]; argv[1] puts a server's signature in its command line.
HTTP_SERVER = """
import http.server, sys
class Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), Quiet).serve_forever()
"""


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(supervisor.free_port())
    return sorted(ports)


@pytest.fixture
def settings() -> cli.Settings:
    moto, dynamodb, admin, emulator = free_ports(4)
    return cli.Settings(moto, dynamodb, admin, emulator, start_timeout=10)


@pytest.fixture
def cloud(tmp_path: Path, settings: cli.Settings) -> Iterator[cli.LocalCloud]:
    instance = cli.LocalCloud(settings, state=tmp_path / "state", environ={"PATH": os.environ["PATH"]})
    yield instance
    for pid, child in instance.supervisor._children.items():
        if child.poll() is None:
            os.killpg(pid, signal.SIGKILL)
            child.wait()


def run_fake(cloud: cli.LocalCloud, server: supervisor.Server, port: int) -> int:
    """A stand-in for one of the cloud's servers, started as `up` would record it."""
    pid = cloud.supervisor.start(
        server, port, [sys.executable, "-c", HTTP_SERVER, server.signature, str(port)], cwd=cloud.state
    )
    cloud.supervisor.wait_ready(server, port, timeout=10)
    return pid


# --- usage and exit codes ------------------------------------------------------------


def test_help_prints_the_reference_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("-h", "--help", "help"):
        assert cli.main([flag], environ={}) == 0
        out = capsys.readouterr().out
        assert out.startswith("Local cloud for tests and local invokes:")
        assert "scripts/local-cloud set-health HEALTH_CHECK_ID_OR_REGION" in out
        assert "LOCAL_CLOUD_START_TIMEOUT" in out


def test_no_command_is_usage_on_stderr_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([], environ={}) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("Local cloud for tests")


def test_an_unknown_command_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["start"], environ={}) == 2
    assert capsys.readouterr().err.startswith("local-cloud: unknown command: start\nLocal cloud for tests")


@pytest.mark.parametrize("command", ["up", "down", "status", "lambda"])
def test_commands_without_arguments_refuse_them(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command, "--now"], environ={}) == 1
    assert capsys.readouterr().err == f"local-cloud: error: {command} takes no arguments\n"


def test_kube_needs_a_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["kube"], environ={}) == 1
    assert "usage: scripts/local-cloud kube CLUSTER_OR_REGION" in capsys.readouterr().err


# --- settings -----------------------------------------------------------------------


def test_settings_default_to_the_documented_ports() -> None:
    assert cli.Settings.from_environ({}) == cli.Settings(4566, 4567, 4568, 9001, 60.0)


def test_settings_read_the_variables() -> None:
    environ = {
        "LOCAL_CLOUD_MOTO_PORT": "5566",
        "LOCAL_CLOUD_DYNAMODB_PORT": "5567",
        "LOCAL_CLOUD_KUBE_ADMIN_PORT": "5568",
        "LOCAL_CLOUD_LAMBDA_PORT": "5569",
        "LOCAL_CLOUD_START_TIMEOUT": "2.5",
    }
    assert cli.Settings.from_environ(environ) == cli.Settings(5566, 5567, 5568, 5569, 2.5)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LOCAL_CLOUD_MOTO_PORT", "moto", "LOCAL_CLOUD_MOTO_PORT='moto': expected a port number (1-65535)"),
        ("LOCAL_CLOUD_LAMBDA_PORT", "70000", "LOCAL_CLOUD_LAMBDA_PORT='70000': expected a port number"),
        (
            "LOCAL_CLOUD_START_TIMEOUT",
            "0",
            "LOCAL_CLOUD_START_TIMEOUT='0': expected a number of seconds above 0",
        ),
        ("LOCAL_CLOUD_START_TIMEOUT", "soon", "LOCAL_CLOUD_START_TIMEOUT='soon'"),
    ],
)
def test_a_bad_setting_is_named(
    variable: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(cli.Failure, match=message.replace("(", r"\(").replace(")", r"\)")):
        cli.Settings.from_environ({variable: value})
    assert cli.main(["status"], environ={variable: value}) == 1
    assert capsys.readouterr().err.startswith(f"local-cloud: error: {variable}=")


# --- files other code reads ----------------------------------------------------------


def test_endpoints_env_is_what_the_rust_harness_parses() -> None:
    text = cli.endpoints_env(cli.Settings(4566, 4567, 4568, 9001, 60))
    assert text == (
        "AWS_ENDPOINT_URL=http://127.0.0.1:4566\n"
        "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4567\n"
        "LOCAL_CLOUD_KUBE_ADMIN=http://127.0.0.1:4568\n"
        "AWS_ACCESS_KEY_ID=testing\n"
        "AWS_SECRET_ACCESS_KEY=testing\n"
        "AWS_REGION=us-east-1\n"
        "AWS_DEFAULT_REGION=us-east-1\n"
    )


def test_up_provisions_every_variable_of_the_short_wait_profile() -> None:
    profile = short_waits.read_profile()
    args = cli.provision_env_args(profile)
    assert args[:4] == ["--env", f"CONFIRM_SAMPLES={profile['CONFIRM_SAMPLES']}", "--env", args[3]]
    assert args[1::2] == [f"{k}={v}" for k, v in profile.items()]
    assert set(args[0::2]) == {"--env"}
    assert "CONFIRM_INTERVAL_SECONDS=1" in args


def test_the_provision_stamp_changes_with_the_profile(cloud: cli.LocalCloud, tmp_path: Path) -> None:
    profile = tmp_path / "waits.env"
    profile.write_text("CONFIRM_SAMPLES=2\n")
    first = cloud.provision_stamp(profile)
    assert first.startswith(f"platform-failover   {cloud.settings.moto_port} {cloud.settings.dynamodb_port} ")
    assert cloud.provision_stamp(profile) == first
    profile.write_text("CONFIRM_SAMPLES=3\n")
    assert cloud.provision_stamp(profile) != first


def test_the_provision_stamp_changes_with_the_template(tmp_path: Path, settings: cli.Settings) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Resources: {}\n")
    environ = {"LOCAL_CLOUD_TEMPLATE": str(template)}
    cloud = cli.LocalCloud(settings, state=tmp_path / "state", environ=environ)
    first = cloud.provision_stamp(short_waits.PROFILE)
    template.write_text("Resources: {Table: {}}\n")
    assert cloud.provision_stamp(short_waits.PROFILE) != first


def test_the_lambda_stamp_names_each_built_function_binary(tmp_path: Path) -> None:
    for function in ("confirm-outage", "reconcile", "core"):
        (tmp_path / "functions" / function / "src").mkdir(parents=True)
    for function in ("confirm-outage", "reconcile"):
        (tmp_path / "functions" / function / "src" / "main.rs").write_text("fn main() {}\n")
    binary = tmp_path / "target" / "debug" / "reconcile"
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    os.utime(binary, (1_700_000_000, 1_700_000_000))
    env_file = tmp_path / "functions.env"
    env_file.write_text("A='1'\n")
    stamp = cli.lambda_stamp(env_file, tmp_path, {})
    lines = stamp.split("\n")
    assert len(lines[0]) == 64
    assert lines[1:] == [f"{binary} 1700000000"]
    elsewhere = tmp_path / "elsewhere"
    assert cli.lambda_stamp(env_file, tmp_path, {"CARGO_TARGET_DIR": str(elsewhere)}) == lines[0]
    env_file.write_text("A='2'\n")
    assert cli.lambda_stamp(env_file, tmp_path, {}).split("\n")[0] != lines[0]


# --- status, down, up decisions ------------------------------------------------------


def test_status_of_nothing_running_is_exit_3(
    cloud: cli.LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cloud.status([]) == 3
    assert capsys.readouterr().out == "moto            stopped\nDynamoDB Local  stopped\n"


def test_status_shows_what_runs_where(cloud: cli.LocalCloud, capsys: pytest.CaptureFixture[str]) -> None:
    s = cloud.settings
    moto = run_fake(cloud, cloud.moto, s.moto_port)
    cloud.supervisor.write("kube-admin.port", f"{s.kube_admin_port}\n")
    dynamodb = run_fake(cloud, cloud.dynamodb, s.dynamodb_port)
    capsys.readouterr()
    assert cloud.status([]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"moto            running  pid {moto:<8} http://127.0.0.1:{s.moto_port}",
        f"DynamoDB Local  running  pid {dynamodb:<8} http://127.0.0.1:{s.dynamodb_port}",
        f"Kubernetes APIs starting (in moto) http://127.0.0.1:{s.kube_admin_port}"
        " (admin API, not answering yet)",
    ]


def test_a_port_answered_by_another_program_is_not_ours(
    cloud: cli.LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    port = cloud.settings.moto_port
    # The right port, but not the signature of a moto started here.
    other = supervisor.Server("other", "other", "other-program", port)
    run_fake(cloud, other, port)
    assert cloud.status([]) == 3
    assert f"moto            stopped  (port {port} answers: another program)" in capsys.readouterr().out
    with pytest.raises(cli.Failure) as failure:
        cloud.ensure_running(cloud.moto)
    assert str(failure.value) == (
        f"port {port} answers but not from a moto started here (another program or an orphan); "
        "free the port or set LOCAL_CLOUD_MOTO_PORT"
    )


def test_a_server_running_on_another_port_must_be_stopped_first(cloud: cli.LocalCloud) -> None:
    other_port = supervisor.free_port()
    pid = run_fake(cloud, cloud.dynamodb, other_port)
    with pytest.raises(cli.Failure) as failure:
        cloud.ensure_running(cloud.dynamodb)
    assert str(failure.value) == (
        f"dynamodb already runs (pid {pid}) on port {other_port}, not {cloud.settings.dynamodb_port}; "
        "run 'scripts/local-cloud down' first"
    )


def test_down_stops_every_server_and_forgets_the_run(
    cloud: cli.LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    moto = run_fake(cloud, cloud.moto, cloud.settings.moto_port)
    emulator = run_fake(cloud, cloud.emulator, cloud.settings.lambda_port)
    for name in cli.RUN_FILES:
        cloud.supervisor.write(name, "x\n")
    assert cloud.down([]) == 0
    assert not supervisor.alive(moto)
    assert not supervisor.alive(emulator)
    left = sorted(p.name for p in cloud.state.iterdir())
    assert left == ["lambda.log", "lock", "moto.log"]
    err = capsys.readouterr().err
    assert f"local-cloud: stopped lambda (pid {emulator})" in err
    assert f"local-cloud: stopped moto (pid {moto})" in err


def test_down_without_a_state_folder_does_nothing(cloud: cli.LocalCloud) -> None:
    assert cloud.down([]) == 0
    assert not cloud.state.exists()


def test_lambda_needs_the_cloud_up_first(cloud: cli.LocalCloud) -> None:
    with pytest.raises(cli.Failure, match=r"the local cloud is not up: run 'scripts/local-cloud up' first"):
        cloud.lambda_([])


def test_up_reports_a_malformed_profile_before_starting_anything(
    cloud: cli.LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloud, "ensure_tools", lambda: None)
    profile = tmp_path / "waits.env"
    profile.write_text("CONFIRM_SAMPLES = '2'\n")
    with pytest.raises(
        cli.Failure, match=r"waits.env:1: CONFIRM_SAMPLES=\"'2'\": the value must be one word"
    ):
        cloud.up([], profile_file=profile)
    assert sorted(p.name for p in cloud.state.iterdir()) == ["lock"]


def test_the_entry_point_runs_without_the_tools_venv(tmp_path: Path) -> None:
    # `status` must work on a fresh machine, before `up` installs anything.
    answer = subprocess.run(
        [sys.executable, "-I", "-S", "-B", str(ROOT / "scripts/localcloud/cli.py"), "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith("Local cloud for tests")
