"""The benchmark's pure parts: it asks every function something, its
figures are read the way the report says, and its Runtime API is Lambda's."""

from __future__ import annotations

import io
import json
import sys
import threading
import urllib.request
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


def test_every_function_is_asked_something() -> None:
    functions = {main.parent.parent.name for main in ROOT.glob("functions/*/src/main.rs")}
    assert set(bench.EVENTS) == functions


@pytest.mark.parametrize(
    ("p", "expected"),
    [(50, 10.0), (99, 20.0), (100, 20.0), (1, 1.0)],
)
def test_percentiles_are_nearest_rank(p: float, expected: float) -> None:
    values = sorted(float(v) for v in range(1, 21))
    assert bench.percentile(values, p) == expected


def test_the_small_share_is_lambdas_cpu_at_128_mb() -> None:
    share = bench.CpuShare(percent=7.2, procs=Path("/sys/fs/cgroup/cpu/x/cgroup.procs"))
    wrapped = share.wrap(["/bin/fn", "--x"])
    assert wrapped[:2] == ["/bin/sh", "-c"]
    assert "echo $$ > /sys/fs/cgroup/cpu/x/cgroup.procs" in wrapped[2] and wrapped[3:] == ["/bin/fn", "--x"]
    assert bench.CpuShare(percent=7.2).wrap(["/bin/fn"]) == ["/bin/fn"]
    assert round(100 * bench.SMALL_MB / bench.VCPU_MB, 1) == 7.2


def test_the_zip_holds_the_binary_as_an_executable_bootstrap(tmp_path: Path) -> None:
    binary = tmp_path / "fn"
    binary.write_bytes(b"\x7fELF" + b"\0" * 4096)
    size, packed = bench.sizes(binary)
    assert size == 4100 and 0 < packed < size
    with zipfile.ZipFile(io.BytesIO(bench.package(binary))) as archive:
        (entry,) = archive.infolist()
        assert entry.filename == "bootstrap" and entry.external_attr >> 16 == 0o755
        assert archive.read(entry) == binary.read_bytes()


def test_the_runtime_api_hands_one_event_and_times_its_answer() -> None:
    api = bench.RuntimeApi()
    base = f"http://{api.address}/2018-06-01/runtime/invocation"

    def function() -> None:
        with urllib.request.urlopen(f"{base}/next", timeout=10) as next_event:
            request_id = next_event.headers["Lambda-Runtime-Aws-Request-Id"]
            assert json.loads(next_event.read()) == {"ping": 1}
            assert int(next_event.headers["Lambda-Runtime-Deadline-Ms"]) > 0
        answer = urllib.request.Request(f"{base}/{request_id}/error", data=b'{"errorType": "InvalidEvent"}')
        urllib.request.urlopen(answer, timeout=10).close()

    thread = threading.Thread(target=function)
    thread.start()
    try:
        seconds, kind = api.invoke({"ping": 1})
    finally:
        thread.join(10)
        api.close()
    assert api.first_poll.is_set()
    assert 0 <= seconds < 10 and kind == "error InvalidEvent"


def test_bad_arguments_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--invokes", "5"])
    assert exit_.value.code == 2
    assert "--invokes 5: at least 20" in capsys.readouterr().err


def test_a_compared_build_must_hold_every_binary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "reconcile").write_bytes(b"")
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--functions", "reconcile,escalate-incident", "--compare", str(tmp_path)])
    assert exit_.value.code == 2
    assert f"--compare {tmp_path}: no binary escalate-incident there" in capsys.readouterr().err


def row(function: str, first: float, zip_mb: float, small_first: float | None) -> dict:
    figures = {
        "init_ms": 10.0,
        "first_ms": first,
        "warm_p50_ms": 2.0,
        "warm_p99_ms": 4.0,
        "peak_rss_mb": 12.0,
    }
    out = {"function": function, "full_cpu": figures, "bootstrap_mb": 10.0, "zip_mb": zip_mb}
    if small_first is not None:
        out["small_cpu"] = {**figures, "first_ms": small_first}
    return out


def test_ratios_are_this_build_over_the_compared_one() -> None:
    now, before = row("reconcile", 50.0, 3.0, 100.0), row("reconcile", 100.0, 4.0, 400.0)
    assert bench.ratio(now, before, "full_cpu", "first_ms") == 0.5
    assert bench.ratio(now, before, None, "zip_mb") == 0.75
    assert bench.ratio(now, before, "small_cpu", "first_ms") == 0.25
    # No small share on one side, or a zero to divide by: no ratio, not a guess.
    assert bench.ratio(row("reconcile", 50.0, 3.0, None), before, "small_cpu", "first_ms") is None
    assert bench.ratio(now, row("reconcile", 0.0, 4.0, 400.0), "full_cpu", "first_ms") is None
    table = bench.ratio_table([now], [before]).splitlines()
    assert table[0].split()[:3] == ["function", "init", "first"]
    assert table[2].split() == [
        "reconcile",
        "1.00x",
        "0.50x",
        "1.00x",
        "1.00x",
        "1.00x",
        "0.75x",
        "1.00x",
        "0.25x",
        "1.00x",
    ]


def test_a_dropped_connection_is_not_reported_but_other_errors_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = bench.RuntimeApi()
    try:
        for error in (ConnectionResetError(104, "reset by peer"), BrokenPipeError(32, "broken pipe")):
            try:
                raise error
            except ConnectionError:
                api.server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == "", "a process the bench stopped dropped its connection"
        try:
            raise ValueError("a bug in the handler")
        except ValueError:
            api.server.handle_error(None, ("127.0.0.1", 1))
        assert "ValueError: a bug in the handler" in capsys.readouterr().err
    finally:
        api.close()
