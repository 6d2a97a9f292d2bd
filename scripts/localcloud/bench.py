"""The benchmark: what each function costs on the local cloud, measured on
release builds and printed (a table, then one JSON line); nothing here
passes or fails on a number.

Run through ``scripts/bench`` (which installs the tools, brings the local
cloud up and builds the release binaries). Per function it starts the
release binary under a Lambda Runtime API of its own (below) and measures:

- ``init``: from the process start to its first ``GET .../invocation/next``
  (the runtime's init phase: configuration, clients, the tracing setup);
- ``first``: the first invocation after that cold start (connections made
  on first use pay their handshakes here);
- ``warm p50`` / ``warm p99``: the invocations after it (``--invokes``, at
  least 20), each from the moment the event is handed over to the answer;
- ``peak RSS``: the process's high-water mark (``VmHWM``) after them;
- ``bootstrap`` and ``zip``: the binary's size and that of a zip with it as
  ``bootstrap`` (deflated, as Lambda's deployment package), for this host's
  architecture;

and the same again under a CPU share like Lambda's at 128 MB (Lambda gives
a function CPU in proportion to its memory, one vCPU at 1,769 MB: 7.2 % of
one CPU at 128 MB), set with a Linux cgroup CPU quota (cgroup v2
``cpu.max``, else v1 ``cpu.cfs_quota_us``; root only). Where no cgroup can
be made, those columns say why.

Each function gets an event that makes it do its real reads against the
local cloud and change nothing: us-east-1 of the bench's own environment
reads unhealthy with crash-looping pods (its alarm OK, so the reconciler
leaves it alone), eu-west-1 is healthy. restore-platform and
verify-recovery act only on an open incident, so they get the probes
evaluate-readiness sends them (``events/probe-*.json``): restore-platform
reviews each Kubernetes request it makes in every region, verify-recovery
reads us-east-1's cluster, Kubernetes version, platform deployment and
DERP peers; each connects through EKS as a recovery does.
escalate-incident and approve-remedy get an incident that does not exist:
one DynamoDB read, then their refusal (counted as an answer; the table
marks it).

Last, the orchestrator's own overhead in a recovery: ``--drills`` runs of
``scripts/drill --release crashloop`` (default 5), each's detection to
action minus the waits configured between them (the confirmation's
``(CONFIRM_SAMPLES - 1) x CONFIRM_INTERVAL_SECONDS``), and their median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import io
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drill  # noqa: E402
import provision  # noqa: E402
import short_waits  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FAILED, PEER = "us-east-1", "eu-west-1"
HEALTH_TAG = "local-cloud:status"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:bench"
NO_INCIDENT = "bench-no-such-incident"
# Lambda: one vCPU at 1,769 MB, in proportion below.
VCPU_MB = 1769
SMALL_MB = 128
CGROUP_PERIOD_US = 100_000
# Longer than any function here takes; a hung one is an error, not a wait.
ANSWER_TIMEOUT = 120.0
# The bench's configuration: no waits inside a function.
BENCH_CONFIG = {"CONFIRM_SAMPLES": "2", "CONFIRM_INTERVAL_SECONDS": "0", "DRY_RUN": "false"}


# What each function is asked: its real reads, no change.
EVENTS: dict[str, dict] = {
    "confirm-outage": {"region": PEER, "reason": "bench: a healthy region", "dry_run": True},
    "restore-platform": {"probe": "permissions"},
    "verify-recovery": {"probe": "cluster", "region": FAILED},
    "check-derp-peers": {},
    "escalate-incident": {"incident_id": NO_INCIDENT, "failure": {"Error": "Bench", "Cause": ""}},
    "reconcile": {"reason": "bench"},
    "evaluate-readiness": {"reason": "bench"},
    "approve-remedy": {"incident_id": NO_INCIDENT, "answer": "approve", "by": "bench"},
}


# --- a Lambda Runtime API for one process -----------------------------------


class QuietServer(http.server.ThreadingHTTPServer):
    """Says nothing of a connection the function's process dropped: the
    bench stops each process while it waits on its next event."""

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class RuntimeApi:
    """The Lambda Runtime API (``/2018-06-01/runtime/...``) for one function
    process: hands it one event at a time and times each answer from the
    moment the event left here."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.answers: queue.Queue[tuple[str, float, str]] = queue.Queue()
        self.first_poll = threading.Event()
        self.first_poll_at = 0.0
        self.handed: dict[str, float] = {}
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (the http.server name)
                if not self.path.endswith("/runtime/invocation/next"):
                    self.reply(404)
                    return
                if not api.first_poll.is_set():
                    api.first_poll_at = time.monotonic()
                    api.first_poll.set()
                request_id, body = api.events.get()
                deadline = int((time.time() + 60) * 1000)
                api.handed[request_id] = time.monotonic()
                self.reply(
                    200,
                    body,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline),
                        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                        "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                    },
                )

            def do_POST(self) -> None:  # noqa: N802
                at = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode(errors="replace") if length else ""
                parts = self.path.split("/")
                if "init" in parts:
                    api.answers.put(("init", at, f"init error: {body}"))
                elif len(parts) >= 6 and parts[-1] in ("response", "error"):
                    kind = "ok" if parts[-1] == "response" else "error"
                    api.answers.put((parts[-2], at, kind if kind == "ok" else error_type(body)))
                self.reply(202, b"{}", {"Content-Type": "application/json"})

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event: dict) -> tuple[float, str]:
        """Seconds from handing the event over to its answer, and the answer's kind."""
        request_id = str(uuid.uuid4())
        self.events.put((request_id, json.dumps(event).encode()))
        answered, at, kind = self.answers.get(timeout=ANSWER_TIMEOUT)
        if answered == "init":
            raise RuntimeError(kind)
        return at - self.handed[answered], kind

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def error_type(body: str) -> str:
    try:
        return f"error {json.loads(body).get('errorType', '?')}"
    except ValueError:
        return "error"


# --- the CPU share of a small function ---------------------------------------


@dataclass
class CpuShare:
    """A cgroup with a CPU quota of ``percent`` of one CPU, or why there is none."""

    percent: float
    procs: Path | None = None
    why_not: str = ""

    @classmethod
    def make(cls, memory_mb: int) -> CpuShare:
        share = cls(percent=round(100 * memory_mb / VCPU_MB, 1))
        quota = int(CGROUP_PERIOD_US * memory_mb / VCPU_MB)
        name = f"platform-failover-bench-{os.getpid()}"
        v2, v1 = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/cpu")
        try:
            if (v2 / "cgroup.controllers").exists() and "cpu" in (
                v2 / "cgroup.controllers"
            ).read_text().split():
                group = v2 / name
                group.mkdir()
                (group / "cpu.max").write_text(f"{quota} {CGROUP_PERIOD_US}")
            elif (v1 / "cpu.cfs_quota_us").exists():
                group = v1 / name
                group.mkdir()
                (group / "cpu.cfs_period_us").write_text(str(CGROUP_PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                share.why_not = (
                    "no cgroup CPU controller here (neither cgroup v2 cpu.max nor v1 cpu.cfs_quota_us)"
                )
                return share
        except OSError as error:
            share.why_not = f"cannot make a cgroup with a CPU quota ({error.strerror}; run as root)"
            return share
        share.procs = group / "cgroup.procs"
        return share

    def wrap(self, command: list[str]) -> list[str]:
        """The command, started inside the cgroup (the shell moves itself in, then execs it)."""
        if self.procs is None:
            return command
        return ["/bin/sh", "-c", f'echo $$ > {self.procs} && exec "$0" "$@"', *command]

    def remove(self) -> None:
        if self.procs is not None:
            try:
                self.procs.parent.rmdir()
            except OSError:
                pass


# --- one function ------------------------------------------------------------


@dataclass
class Run:
    init_ms: float
    first_ms: float
    warm_ms: list[float]
    peak_rss_kb: int
    answers: set[str] = field(default_factory=set)

    def summary(self) -> dict:
        warm = sorted(self.warm_ms)
        return {
            "init_ms": round(self.init_ms, 1),
            "first_ms": round(self.first_ms, 1),
            "warm_p50_ms": round(statistics.median(warm), 1),
            "warm_p99_ms": round(percentile(warm, 99), 1),
            "peak_rss_mb": round(self.peak_rss_kb / 1024, 1),
            "answers": sorted(self.answers),
        }


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile of sorted ``values``."""
    rank = max(1, min(len(values), round(p / 100 * len(values) + 0.5)))
    return values[rank - 1]


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure(
    binary: Path, function: str, env: dict[str, str], event: dict, invokes: int, share: CpuShare | None
) -> Run:
    api = RuntimeApi()
    variables = {
        **os.environ,
        **env,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        # The local cloud's credentials endpoint knows a function by this name.
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(SMALL_MB if share else 256),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/bench-{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
    }
    command = share.wrap([str(binary)]) if share else [str(binary)]
    started = time.monotonic()
    process = subprocess.Popen(
        command, env=variables, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if not api.first_poll.wait(ANSWER_TIMEOUT):
            raise RuntimeError(f"{function} never asked for an event (exit {process.poll()})")
        init = api.first_poll_at - started
        first, kind = api.invoke(event)
        answers = {kind}
        warm = []
        for _ in range(invokes):
            seconds, kind = api.invoke(event)
            warm.append(seconds * 1000)
            answers.add(kind)
        return Run(init * 1000, first * 1000, warm, peak_rss_kb(process.pid), answers)
    finally:
        process.kill()
        process.wait()
        api.close()


def package(binary: Path) -> bytes:
    """The deployment zip of a function: its binary as ``bootstrap``, executable, deflated."""
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, binary.read_bytes())
    return packed.getvalue()


def sizes(binary: Path) -> tuple[int, int]:
    """The binary's size and that of its deployment zip."""
    return binary.stat().st_size, len(package(binary))


# --- the environment -----------------------------------------------------------


def environment() -> dict:
    """A provisioned environment of the bench's own: us-east-1 down (health
    Failure, pods crash-looping, its alarm OK), eu-west-1 healthy."""
    name = f"bench-{dt.datetime.now(dt.UTC).strftime('%H%M%S')}-{os.getpid()}"
    config = short_waits.read_profile() | BENCH_CONFIG
    env = drill.provision_environment(name, (FAILED, PEER), config)
    regions = {r["name"]: r for r in env["regions"]}
    route53, cloudwatch = provision.client("route53"), provision.client("cloudwatch")
    for region, status in ((FAILED, "Failure"), (PEER, "Success")):
        route53.change_tags_for_resource(
            ResourceType="healthcheck",
            ResourceId=regions[region]["health_check_id"],
            AddTags=[{"Key": HEALTH_TAG, "Value": status}],
        )
        for alarm in regions[region]["alarm_names"]:
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="bench")
    provision.admin("PATCH", f"/clusters/{regions[FAILED]['cluster']}/scenario", {"pods": "crashloop"})
    return env


# --- the drill's own overhead ----------------------------------------------------


def drill_overhead(runs: int) -> dict:
    waits = short_waits.read_profile()
    configured = (int(waits["CONFIRM_SAMPLES"]) - 1) * float(waits["CONFIRM_INTERVAL_SECONDS"])
    overheads = []
    for run in range(1, runs + 1):
        done = subprocess.run(
            [str(ROOT / "scripts/drill"), "--release", "crashloop"],
            check=False,
            capture_output=True,
            text=True,
        )
        lines = done.stdout.strip().splitlines()
        summary = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
        acted = summary.get("detect_to_action_s")
        if done.returncode != 0 or acted is None:
            raise RuntimeError(
                f"drill {run} of {runs} did not recover (exit {done.returncode}): {lines[-3:]}"
            )
        overheads.append(round(acted - configured, 2))
        print(f"  drill {run}/{runs}: detection to action {acted:.2f} s, own overhead {overheads[-1]:.2f} s")
    return {
        "runs": runs,
        "configured_waits_s": configured,
        "own_overhead_s": overheads,
        "median_s": round(statistics.median(overheads), 2),
    }


# --- the report --------------------------------------------------------------------


def table(rows: list[dict], share: CpuShare) -> str:
    head = (
        f"{'function':<20} {'init':>7} {'first':>8} {'warm p50':>9} {'warm p99':>9} {'RSS':>7}"
        f" {'bootstrap':>10} {'zip':>8} | {'init':>7} {'first':>8} {'p50':>7}  answers"
    )
    lines = [
        f"{'':<20} {'full CPU':^43} {'':>19} | {f'{share.percent:g} % of one CPU (128 MB)':^25}",
        head,
        "-" * len(head),
    ]
    for row in rows:
        full, small = row["full_cpu"], row.get("small_cpu")
        quota = (
            f"{small['init_ms']:>5.0f}ms {small['first_ms']:>6.0f}ms {small['warm_p50_ms']:>5.0f}ms"
            if small
            else f"{'-':>7} {'-':>8} {'-':>7}"
        )
        lines.append(
            f"{row['function']:<20} {full['init_ms']:>5.1f}ms {full['first_ms']:>6.1f}ms"
            f" {full['warm_p50_ms']:>7.1f}ms {full['warm_p99_ms']:>7.1f}ms {full['peak_rss_mb']:>5.1f}MB"
            f" {row['bootstrap_mb']:>8.2f}MB {row['zip_mb']:>6.2f}MB | {quota}  {', '.join(full['answers'])}"
        )
    return "\n".join(lines)


RATIOS = (
    ("init", "full_cpu", "init_ms"),
    ("first", "full_cpu", "first_ms"),
    ("p50", "full_cpu", "warm_p50_ms"),
    ("p99", "full_cpu", "warm_p99_ms"),
    ("RSS", "full_cpu", "peak_rss_mb"),
    ("zip", None, "zip_mb"),
    ("128MB init", "small_cpu", "init_ms"),
    ("128MB first", "small_cpu", "first_ms"),
    ("128MB p50", "small_cpu", "warm_p50_ms"),
)


def ratio(now: dict, before: dict, part: str | None, key: str) -> float | None:
    """``now`` over ``before`` for one figure; None where either lacks it or it was 0."""
    a = now.get(part) if part else now
    b = before.get(part) if part else before
    if not a or not b or not b.get(key) or a.get(key) is None:
        return None
    return round(a[key] / b[key], 2)


def ratio_table(rows: list[dict], before: list[dict]) -> str:
    """Each figure of this build over the same figure of the compared one."""
    head = f"{'function':<20}" + "".join(f" {label:>11}" for label, _, _ in RATIOS)
    lines = [head, "-" * len(head)]
    for now, then in zip(rows, before, strict=True):
        cells = []
        for _label, part, key in RATIOS:
            value = ratio(now, then, part, key)
            cells.append(f" {'-' if value is None else f'{value:.2f}x':>11}")
        lines.append(f"{now['function']:<20}" + "".join(cells))
    return "\n".join(lines)


def measured_row(binary: Path, name: str, env: dict, event: dict, invokes: int, share: CpuShare) -> dict:
    """One function's figures: full CPU, then the small share where there is one."""
    if not binary.exists():
        raise RuntimeError(f"no release binary {binary}: run scripts/bench (it builds them)")
    full = measure(binary, name, env["function_env"], event, invokes, None)
    small = measure(binary, name, env["function_env"], event, invokes, share) if share.procs else None
    bootstrap, packed = sizes(binary)
    row = {
        "function": name,
        "full_cpu": full.summary(),
        "bootstrap_mb": round(bootstrap / 2**20, 2),
        "zip_mb": round(packed / 2**20, 2),
    }
    if small:
        row["small_cpu"] = small.summary()
    return row


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description="Benchmark the functions (release builds)."
    )
    parser.add_argument("--invokes", type=int, default=20, help="warm invocations per function (at least 20)")
    parser.add_argument(
        "--drills", type=int, default=5, help="crashloop drills for the own overhead (0: none)"
    )
    parser.add_argument("--functions", help="only these, comma-separated (default: every function)")
    parser.add_argument(
        "--compare",
        metavar="DIR",
        type=Path,
        help="also measure the binaries in DIR (another build), each right before its"
        " counterpart here, and print this build's figures over theirs",
    )
    args = parser.parse_args(argv)
    if args.invokes < 20:
        parser.error(f"--invokes {args.invokes}: at least 20, for a p99 worth the name")
    if args.drills < 0:
        parser.error(f"--drills {args.drills}: 0 or more")
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "release"
    names = list(EVENTS)
    if args.functions:
        wanted = [n.strip() for n in args.functions.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(EVENTS))
        if unknown:
            parser.error(f"--functions: unknown {', '.join(unknown)}; the functions: {', '.join(EVENTS)}")
        names = wanted
    missing = [name for name in names if args.compare and not (args.compare / name).is_file()]
    if missing:
        parser.error(f"--compare {args.compare}: no binary {', '.join(missing)} there")
    env = environment()
    share = CpuShare.make(SMALL_MB)
    print(f"bench: environment {env['name']}; release binaries in {target}")
    if share.why_not:
        print(f"bench: no 128 MB CPU share: {share.why_not}; those columns are left out")
    else:
        print(
            f"bench: the 128 MB share: a cgroup with a CPU quota of {share.percent:g} % of one CPU"
            f" ({share.procs.parent if share.procs else '?'})"
        )
    rows, compared = [], []
    try:
        for name in names:
            if args.compare:
                compared.append(
                    measured_row(args.compare / name, name, env, EVENTS[name], args.invokes, share)
                )
            rows.append(measured_row(target / name, name, env, EVENTS[name], args.invokes, share))
            print(f"  {name}: measured")
    finally:
        share.remove()
    overhead = drill_overhead(args.drills) if args.drills else None
    print()
    if args.compare:
        print(f"compared: {args.compare}")
        print(table(compared, share))
        print(f"\nthis build: {target}")
    print(table(rows, share))
    if args.compare:
        print(f"\nthis build over {args.compare} (below 1.00x: less)")
        print(ratio_table(rows, compared))
    if overhead:
        print(
            f"\nown overhead in scripts/drill --release crashloop (detection to action minus"
            f" {overhead['configured_waits_s']:g} s of configured waits): median {overhead['median_s']:.2f} s"
            f" of {overhead['runs']} ({', '.join(f'{o:.2f}' for o in overhead['own_overhead_s'])})"
        )
    report = {
        "host": {"cpus": os.cpu_count(), "machine": os.uname().machine},
        "invokes": args.invokes,
        "small_cpu_percent": None if share.why_not else share.percent,
        "functions": rows,
        "drill_overhead": overhead,
    }
    if args.compare:
        report["compared"] = {"binaries": str(args.compare), "functions": compared}
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
