"""Process supervision for the local cloud's servers, standard library only.

A server runs detached, in its own session (so its process group id is its
pid, and a terminal's Ctrl-C does not reach it), and outlives the command
that started it. What is known about it lives in a state folder:

    NAME.pid    its pid
    NAME.port   the port it was started on
    NAME.log    its output; each start appends a line
                ``=== <UTC time> start on port <port> ===``
    lock        taken (flock) by every command that starts or stops servers

A pid file alone proves nothing: the process may have exited and its pid
been reused. A pid counts only while that process is alive, is not a zombie
waiting to be reaped, and has the server's signature in its command line.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import errno
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
START_MARK = "=== "
START_MARK_TEXT = " start on port "
# Any HTTP server answers a request line with a status line; what it says
# about this path does not matter (moto's own path, as the probe once was).
PROBE_REQUEST = b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


class SupervisorError(Exception):
    """A problem reported as one line, followed by ``details`` (a log excerpt)."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


@dataclass(frozen=True)
class Server:
    """One kind of server the local cloud runs."""

    # Stem of its files in the state folder.
    name: str
    # How status and errors name it.
    label: str
    # Text its command line contains, and another program's does not.
    signature: str
    # The port it is wanted on (its environment variable, or the default).
    port: int
    # What asks it to stop; the group gets SIGKILL if it does not.
    stop_signal: signal.Signals = signal.SIGTERM


def alive(pid: int) -> bool:
    """The process exists and is not a zombie. Orphans are reaped by PID 1,
    which may take a while; a child of this process stays a zombie until it
    is waited for. Either way it no longer runs."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("State:"):
            return line.split()[1:2] != ["Z"]
    return True


def command_line(pid: int) -> str:
    """The process's arguments joined by spaces; empty when unreadable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def answers_http(port: int, host: str = HOST, timeout: float = 2.0) -> bool:
    """Something on host:port answers HTTP (a status line) within ``timeout``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(PROBE_REQUEST)
            first = conn.recv(5)
    except OSError:
        return False
    return first == b"HTTP/"


def free_port(host: str = HOST) -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def start_mark(port: int, now: dt.datetime | None = None) -> str:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{START_MARK}{stamp}{START_MARK_TEXT}{port} ==="


def last_start_lines(log: Path, limit: int = 25) -> list[str]:
    """The last ``limit`` lines of the latest start (its mark included), read
    in one pass: logs of a long-running server grow large."""
    tail: collections.deque[str] = collections.deque(maxlen=limit)
    try:
        with log.open(errors="replace") as handle:
            for line in handle:
                if line.startswith(START_MARK) and START_MARK_TEXT in line:
                    tail.clear()
                tail.append(line.rstrip("\n"))
    except OSError:
        return []
    return list(tail)


class Supervisor:
    """Starts, finds, waits for and stops servers, with files in ``state``."""

    def __init__(self, state: Path, say: Callable[[str], None]) -> None:
        self.state = state
        self.say = say
        # Children started by this process: their exit status is known.
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    # --- files ------------------------------------------------------------

    def path(self, file_name: str) -> Path:
        return self.state / file_name

    def read(self, file_name: str) -> str | None:
        try:
            return self.path(file_name).read_text().strip()
        except OSError:
            return None

    def write(self, file_name: str, text: str) -> None:
        """Atomically: a reader sees the old content or the new, never half."""
        self.state.mkdir(parents=True, exist_ok=True)
        target = self.path(file_name)
        tmp = target.with_name(f"{target.name}.{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(target)

    def remove(self, *file_names: str) -> None:
        for file_name in file_names:
            with contextlib.suppress(FileNotFoundError):
                self.path(file_name).unlink()

    def recorded_pid(self, server: Server) -> int | None:
        text = self.read(f"{server.name}.pid")
        return int(text) if text and text.isdigit() else None

    def pid_of(self, server: Server) -> int | None:
        """The pid in the server's pid file, if that process is the server."""
        pid = self.recorded_pid(server)
        if pid is None or not alive(pid) or server.signature not in command_line(pid):
            return None
        return pid

    def port_of(self, server: Server) -> int:
        """The port the running server was started on, else the wanted one."""
        text = self.read(f"{server.name}.port")
        return int(text) if text and text.isdigit() else server.port

    def log_path(self, server: Server) -> Path:
        return self.path(f"{server.name}.log")

    # --- processes ----------------------------------------------------------

    def start(
        self,
        server: Server,
        port: int,
        command: Sequence[str],
        cwd: Path,
        env: Mapping[str, str] | None = None,
    ) -> int:
        """Starts the server detached, its output appended to its log; its pid."""
        self.state.mkdir(parents=True, exist_ok=True)
        self.remove(f"{server.name}.pid", f"{server.name}.port")
        log = self.log_path(server)
        with log.open("a") as out:
            out.write(f"\n{start_mark(port)}\n")
            out.flush()
            try:
                # Popen returns once the exec succeeded, so the pid's command
                # line is already the server's. The state lock is opened
                # close-on-exec, so it is never held by a server.
                child = subprocess.Popen(
                    list(command),
                    cwd=cwd,
                    env=None if env is None else dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise SupervisorError(
                    f"cannot start {server.name} ({command[0]}): {exc.strerror or exc}"
                ) from exc
        self._children[child.pid] = child
        self.write(f"{server.name}.pid", f"{child.pid}\n")
        self.write(f"{server.name}.port", f"{port}\n")
        self.say(f"started {server.name} (pid {child.pid}) on {HOST}:{port}")
        return child.pid

    def _exited(self, server: Server) -> str | None:
        """Why the server's recorded process no longer runs, or None if it does."""
        pid = self.recorded_pid(server)
        if pid is None:
            return "no pid file"
        child = self._children.get(pid)
        if child is not None and child.poll() is not None:
            return f"exit status {child.returncode}"
        if not alive(pid):
            return "no longer runs"
        return None

    def wait_ready(
        self,
        server: Server,
        port: int,
        timeout: float,
        probe: Callable[[int], bool] = answers_http,
    ) -> None:
        """Until the server answers on ``port``; SupervisorError with the
        latest start's log lines when it exits first or the timeout passes."""
        deadline = time.monotonic() + timeout
        log = self.log_path(server)
        while not probe(port):
            why = self._exited(server)
            if why is not None:
                raise SupervisorError(
                    f"{server.name} exited during start ({why}); last lines of {log}:",
                    last_start_lines(log),
                )
            if time.monotonic() >= deadline:
                raise SupervisorError(
                    f"{server.name} did not answer on {HOST}:{port} within {timeout:g}s; "
                    f"last lines of {log}:",
                    last_start_lines(log),
                )
            time.sleep(0.1)

    def stop(self, servers: Sequence[Server], grace: float = 10.0) -> None:
        """Asks each running server's process group to stop, waits up to
        ``grace`` seconds for all of them, then kills what is left. The pid
        and port files of every named server are removed."""
        asked: list[tuple[Server, int]] = []
        for server in servers:
            pid = self.pid_of(server)
            if pid is not None:
                _signal_group(pid, server.stop_signal)
                asked.append((server, pid))
        deadline = time.monotonic() + grace
        while any(self._running(pid) for _, pid in asked) and time.monotonic() < deadline:
            time.sleep(0.1)
        for server, pid in asked:
            if self._running(pid):
                _signal_group(pid, signal.SIGKILL)
                signal_name = server.stop_signal.name
                self.say(f"killed {server.name} (pid {pid}): no exit within {grace:g} s of {signal_name}")
            else:
                self.say(f"stopped {server.name} (pid {pid})")
        for server in servers:
            self.remove(f"{server.name}.pid", f"{server.name}.port")

    def _running(self, pid: int) -> bool:
        child = self._children.get(pid)
        if child is not None:
            return child.poll() is None
        return alive(pid)

    # --- the lock -----------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, wait_seconds: float = 600) -> Iterator[None]:
        """Holds ``state/lock``, so one command at a time starts or stops
        servers; others wait (up to ``wait_seconds``) and then find them up."""
        self.state.mkdir(parents=True, exist_ok=True)
        lock = self.path("lock")
        with lock.open("w") as handle:
            if not _try_lock(handle.fileno()):
                self.say("waiting for another local-cloud command")
                deadline = time.monotonic() + wait_seconds
                while not _try_lock(handle.fileno()):
                    if time.monotonic() >= deadline:
                        raise SupervisorError(f"could not take {lock} within {wait_seconds:g} s")
                    time.sleep(0.1)
            yield


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """The whole process group (the server and what it started), else the
    process alone (a server started before it led its own group)."""
    try:
        os.killpg(pid, sig)
    except OSError:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)
