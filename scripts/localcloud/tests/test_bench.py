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
    assert set(bench.events({})) == functions


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
