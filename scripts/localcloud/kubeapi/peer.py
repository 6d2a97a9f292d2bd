"""The local process at the other end of a TCP connection, from Linux's /proc.

The credentials endpoint (``admin``) hands each function its own role's
credentials, as Lambda does, by looking at which function is asking: the
process that holds the connection's client socket, and the
``AWS_LAMBDA_FUNCTION_NAME`` the Lambda runtime emulator started it with. The
caller says nothing about itself.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

PROC = Path("/proc")


class PeerError(Exception):
    """The process of a connection could not be found."""


def _address(host: str, port: int) -> str:
    """An IPv4 address as /proc/net/tcp writes it: little-endian hex, port in hex."""
    return f"{int.from_bytes(socket.inet_aton(host), 'little'):08X}:{port:04X}"


def socket_inode(client: tuple[str, int], server: tuple[str, int], proc: Path = PROC) -> str:
    """The inode of the client's end of the connection client -> server."""
    local, remote = _address(*client), _address(*server)
    try:
        lines = (proc / "net" / "tcp").read_text().splitlines()[1:]
    except OSError as exc:
        raise PeerError(f"cannot read {proc}/net/tcp ({exc}): callers are found on Linux only") from exc
    for line in lines:
        fields = line.split()
        if len(fields) > 9 and fields[1] == local and fields[2] == remote:
            return fields[9]
    raise PeerError(f"no local socket {client[0]}:{client[1]} -> {server[0]}:{server[1]} (not local?)")


def process_of(client: tuple[str, int], server: tuple[str, int], proc: Path = PROC) -> int:
    """The pid of the process holding the client's end of the connection."""
    target = f"socket:[{socket_inode(client, server, proc)}]"
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            for fd in (entry / "fd").iterdir():
                try:
                    if os.readlink(fd) == target:
                        return int(entry.name)
                except OSError:
                    continue
        except OSError:
            continue
    raise PeerError(f"no process holds the socket of {client[0]}:{client[1]} (it may have exited)")


def environment_of(pid: int, proc: Path = PROC) -> dict[str, str]:
    """The environment a process was started with."""
    try:
        raw = (proc / str(pid) / "environ").read_bytes()
    except OSError as exc:
        raise PeerError(f"cannot read the environment of process {pid}: {exc}") from exc
    pairs = (item.decode("utf-8", "replace").partition("=") for item in raw.split(b"\0") if item)
    return {key: value for key, _, value in pairs}
