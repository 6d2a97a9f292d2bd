"""The supervisor's mechanisms (supervisor.py): pid files checked against the
process, zombies, HTTP probes, starting, waiting, stopping, the lock. Real
processes and sockets on 127.0.0.1, each test in its own state folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# The modules under test live one folder up, outside any package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import supervisor  # noqa: E402
from supervisor import Server, Supervisor, SupervisorError  # noqa: E402

# A stand-in server: serves HTTP on argv[2]; argv[1] is only there so that
# its command line carries a signature.
HTTP_SERVER = """
import http.server, sys
class Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.end_headers()
    def log_message(self, *args):
        pass
print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), Quiet).serve_forever()
"""
# Ignores SIGTERM, as a hung server would.
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", flush=True)
time.sleep(60)
"""


def wait_until(condition, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def said() -> list[str]:
    return []


@pytest.fixture
def sup(tmp_path: Path, said: list[str]) -> Iterator[Supervisor]:
    state = tmp_path / "state"
    instance = Supervisor(state, said.append)
    yield instance
    # Nothing a test started outlives it.
    for pid in list(instance._children):
        child = instance._children[pid]
        if child.poll() is None:
            os.killpg(pid, signal.SIGKILL)
            child.wait()


def server(port: int, signature: str = "fake-server-signature") -> Server:
    return Server("fake", "Fake server", signature, port)


# --- alive and command lines ---------------------------------------------------


def test_this_process_is_alive() -> None:
    assert supervisor.alive(os.getpid())


def test_a_reaped_process_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not supervisor.alive(child.pid)


def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # Exited, not yet waited for: signal 0 still reaches it.
        assert wait_until(lambda: "State:\tZ" in Path(f"/proc/{child.pid}/status").read_text())
        os.kill(child.pid, 0)
        assert not supervisor.alive(child.pid)
    finally:
        child.wait()


def test_the_command_line_is_the_arguments_joined_by_spaces() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)", "with-signature", "x"])
    try:
        assert wait_until(lambda: "with-signature" in supervisor.command_line(child.pid))
        assert supervisor.command_line(child.pid).endswith("import time; time.sleep(5) with-signature x")
    finally:
        child.kill()
        child.wait()
    assert supervisor.command_line(child.pid) == ""


# --- HTTP probes ------------------------------------------------------------------


class OneShotServer:
    """A listening socket that answers each connection with ``reply`` (or nothing)."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.requests.append(conn.recv(1024))
                if self.reply is None:
                    time.sleep(1.0)
                else:
                    conn.sendall(self.reply)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listening(request: pytest.FixtureRequest) -> Iterator[OneShotServer]:
    fake = OneShotServer(request.param)
    yield fake
    fake.close()


@pytest.mark.parametrize("listening", [b"HTTP/1.1 404 Not Found\r\n\r\n"], indirect=True)
def test_an_http_answer_counts(listening: OneShotServer) -> None:
    assert supervisor.answers_http(listening.port)
    assert listening.requests[0].startswith(b"GET /moto-api/ HTTP/1.0\r\n")


@pytest.mark.parametrize("listening", [b"SSH-2.0-OpenSSH_9.2\r\n"], indirect=True)
def test_another_protocol_does_not_count(listening: OneShotServer) -> None:
    assert not supervisor.answers_http(listening.port)


@pytest.mark.parametrize("listening", [None], indirect=True)
def test_a_listener_that_says_nothing_does_not_count_within_the_timeout(listening: OneShotServer) -> None:
    started = time.monotonic()
    assert not supervisor.answers_http(listening.port, timeout=0.2)
    assert time.monotonic() - started < 0.9


def test_a_closed_port_does_not_count() -> None:
    assert not supervisor.answers_http(supervisor.free_port())


# --- files ------------------------------------------------------------------------


def test_the_latest_start_is_what_the_log_tail_shows(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text(
        f"{supervisor.start_mark(1)}\nold line\n\n{supervisor.start_mark(2)}\n"
        + "".join(f"line {i}\n" for i in range(30))
    )
    assert supervisor.last_start_lines(log, limit=3) == ["line 27", "line 28", "line 29"]
    assert supervisor.last_start_lines(log, limit=40)[0].endswith(" start on port 2 ===")
    assert "old line" not in supervisor.last_start_lines(log, limit=40)
    assert supervisor.last_start_lines(tmp_path / "missing.log") == []


def test_a_pid_file_counts_only_for_a_live_process_with_the_signature(sup: Supervisor) -> None:
    own = server(1, signature=" ".join(Path("/proc/self/cmdline").read_text().split("\0")[:1]))
    sup.write("fake.pid", f"{os.getpid()}\n")
    assert sup.pid_of(own) == os.getpid()
    assert sup.pid_of(server(1, signature="not-in-this-command-line")) is None
    sup.write("fake.pid", "12ab\n")
    assert sup.pid_of(own) is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    sup.write("fake.pid", f"{dead.pid}\n")
    assert sup.pid_of(own) is None
    sup.remove("fake.pid")
    assert sup.pid_of(own) is None


def test_the_recorded_port_wins_over_the_wanted_one(sup: Supervisor) -> None:
    assert sup.port_of(server(4566)) == 4566
    sup.write("fake.port", "5000\n")
    assert sup.port_of(server(4566)) == 5000


def test_writes_are_atomic_and_leave_no_temporary_file(sup: Supervisor) -> None:
    sup.write("endpoints.env", "A=1\n")
    sup.write("endpoints.env", "A=2\n")
    assert sup.read("endpoints.env") == "A=2"
    assert sorted(p.name for p in sup.state.iterdir()) == ["endpoints.env"]


# --- start, wait, stop ------------------------------------------------------------


def start_http(sup: Supervisor, port: int) -> int:
    fake = server(port)
    return sup.start(
        fake, port, [sys.executable, "-c", HTTP_SERVER, fake.signature, str(port)], cwd=sup.state
    )


def test_a_started_server_is_found_waited_for_and_stopped(sup: Supervisor, said: list[str]) -> None:
    port = supervisor.free_port()
    pid = start_http(sup, port)
    fake = server(port)
    assert said == [f"started fake (pid {pid}) on 127.0.0.1:{port}"]
    # Its own session: the pid leads the group that stop signals.
    assert os.getpgid(pid) == pid
    assert os.getsid(pid) == pid
    sup.wait_ready(fake, port, timeout=10)
    assert sup.pid_of(fake) == pid
    assert sup.read("fake.port") == str(port)
    assert supervisor.last_start_lines(sup.log_path(fake))[-1] == "serving"

    sup.stop([fake], grace=5)
    assert said[-1] == f"stopped fake (pid {pid})"
    assert not supervisor.alive(pid)
    assert not (sup.state / "fake.pid").exists()
    assert not (sup.state / "fake.port").exists()
    assert not supervisor.answers_http(port)


def test_a_server_that_exits_during_start_is_reported_with_its_log(sup: Supervisor) -> None:
    fake = server(supervisor.free_port())
    code = "import sys; print('cannot bind: address in use', flush=True); sys.exit(3)"
    sup.start(fake, fake.port, [sys.executable, "-c", code, fake.signature], cwd=sup.state)
    with pytest.raises(SupervisorError) as error:
        sup.wait_ready(fake, fake.port, timeout=10)
    assert (
        str(error.value) == f"fake exited during start (exit status 3); last lines of {sup.log_path(fake)}:"
    )
    assert error.value.details[-1] == "cannot bind: address in use"
    assert error.value.details[0].endswith(f" start on port {fake.port} ===")


def test_a_server_that_does_not_answer_in_time_is_reported(sup: Supervisor) -> None:
    fake = server(supervisor.free_port())
    sup.start(
        fake, fake.port, [sys.executable, "-c", "import time; time.sleep(30)", fake.signature], cwd=sup.state
    )
    started = time.monotonic()
    with pytest.raises(SupervisorError, match=rf"fake did not answer on 127.0.0.1:{fake.port} within 0.3s"):
        sup.wait_ready(fake, fake.port, timeout=0.3)
    assert time.monotonic() - started < 3


def test_a_server_ignoring_its_stop_signal_is_killed_after_the_grace(
    sup: Supervisor, said: list[str]
) -> None:
    fake = server(supervisor.free_port())
    pid = sup.start(fake, fake.port, [sys.executable, "-c", STUBBORN, fake.signature], cwd=sup.state)
    assert wait_until(lambda: "ignoring SIGTERM" in sup.log_path(fake).read_text())
    sup.stop([fake], grace=0.3)
    assert said[-1] == f"killed fake (pid {pid}): no exit within 0.3 s of SIGTERM"
    assert wait_until(lambda: not supervisor.alive(pid))


def test_stopping_a_server_that_is_not_running_only_clears_its_files(
    sup: Supervisor, said: list[str]
) -> None:
    sup.write("fake.pid", "999999999\n")
    sup.write("fake.port", "1234\n")
    sup.stop([server(1234)])
    assert said == []
    assert list(sup.state.iterdir()) == []


def test_a_command_that_cannot_start_is_a_clear_error(sup: Supervisor) -> None:
    with pytest.raises(
        SupervisorError, match=r"cannot start fake \(/no/such/binary\): No such file or directory"
    ):
        sup.start(server(1), 1, ["/no/such/binary"], cwd=sup.state)


# --- the lock ---------------------------------------------------------------------


def test_a_held_lock_makes_the_next_command_wait_then_give_up(sup: Supervisor, said: list[str]) -> None:
    sup.state.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            "handle = open(sys.argv[1], 'w')\n"
            "fcntl.flock(handle, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(30)\n",
            str(sup.state / "lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(SupervisorError, match=r"could not take .*/lock within 0.3 s"):
            with sup.locked(wait_seconds=0.3):
                pytest.fail("the lock was taken while another process held it")
        assert said == ["waiting for another local-cloud command"]
    finally:
        holder.kill()
        holder.wait()
    with sup.locked(wait_seconds=0.3):
        pass


def test_the_lock_is_not_inherited_by_a_server(sup: Supervisor) -> None:
    port = supervisor.free_port()
    with sup.locked():
        pid = start_http(sup, port)
    sup.wait_ready(server(port), port, timeout=10)
    lock = str(sup.state / "lock")
    held = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    assert lock not in held
    with sup.locked(wait_seconds=0.3):
        pass
