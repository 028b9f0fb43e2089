"""--out is replaced as one unit: a run killed while it writes (SIGTERM, SIGINT, SIGKILL) or
stopped by a full disk leaves the old set whole and nothing beside it (what a SIGKILL leaves, the
next run cleans), and of two runs started together into one folder one writes and the other is
refused at once. Each run is the real command on a tiny world."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.faults.conftest import EMPIRICAL, assert_clean_failure, forecast, run_process


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def assert_one_set(out: Path) -> dict:
    """Every file in `out` is the one its run.json lists (same bytes), and nothing else."""
    run = json.loads((out / "run.json").read_text())
    assert set(run["files"]) | {"run.json"} == {p.name for p in out.iterdir()}
    for name, meta in run["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == meta["sha256"], name
    return run


@pytest.fixture(scope="module")
def old_set(tiny_world, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(data, config, a folder holding one run's outputs) to copy as the 'old set'."""
    root = tmp_path_factory.mktemp("one-unit")
    data = Path(shutil.copytree(tiny_world.data, root / "world" / "data"))
    config = root / "fast.yaml"
    config.write_text(EMPIRICAL, encoding="utf-8")
    result = forecast(data, root / "old", "--no-tracking", "--config", config)
    assert result.exit_code == 0, result.output
    return data, config, root / "old"


def _wait_for(predicate, proc: subprocess.Popen, what: str, limit: float = 120.0) -> None:
    t0 = time.monotonic()
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {what}: {proc.communicate()}")
        if time.monotonic() - t0 > limit:
            proc.kill()
            raise AssertionError(f"no {what} within {limit} s")
        time.sleep(0.005)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGTERM", "SIGINT", "SIGKILL"],
)
def test_a_run_killed_while_writing_leaves_the_old_set(old_set, tmp_path, sig, code):
    data, config, old = old_set
    out = tmp_path / "out"
    shutil.copytree(old, out)
    before = digest(out)
    proc = run_process(
        "forecast", "--data", data, "--out", out, "--no-tracking", "--config", config, cwd=tmp_path
    )
    _wait_for(lambda: any(".staging-" in n for n in beside(out)), proc, "staging folder")
    time.sleep(0.05)  # into the writing
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert digest(out) == before  # the whole old set, untouched
    if sig != signal.SIGKILL:
        assert beside(out) == []  # cleaned up on the way out
        assert "interrupted" in err and "Traceback" not in err
        return
    assert beside(out)  # a SIGKILL cannot clean: the next run does, even one that fails
    result = forecast(data, out, "--no-tracking", "--as-of", "2030-01-01")
    assert_clean_failure(result, 2, "--as-of")
    assert beside(out) == [] and digest(out) == before


@pytest.mark.slow
def test_two_runs_started_together_one_writes_one_is_refused(old_set, tiny_world, tmp_path):
    """Two worlds, one folder, started at once: exactly one writes its whole set; the other is
    refused at once naming the pid of the one writing."""
    data, config, _ = old_set
    other = Path(shutil.copytree(data, tmp_path / "other" / "data"))
    catalog = (other / "catalog.csv").read_text().replace(",0,", ",1,", 1)  # another data hash
    (other / "catalog.csv").write_text(catalog)
    out = tmp_path / "out"
    args = ("--out", out, "--no-tracking", "--config", config)
    procs = [run_process("forecast", "--data", d, *args, cwd=tmp_path) for d in (data, other)]
    results = [(p.pid, *p.communicate(timeout=300), p.returncode) for p in procs]
    codes = sorted(r[3] for r in results)
    assert codes == [0, 2], results
    winner = next(r for r in results if r[3] == 0)
    loser = next(r for r in results if r[3] == 2)
    assert f"another run is writing {out.resolve()} since " in loser[2]
    assert f"pid {winner[0]}" in " ".join(loser[2].split())
    assert "demand model" not in loser[2]  # refused before any work
    run = assert_one_set(out)
    from demandmatch.data import data_hash

    won = data if winner is results[0] else other
    assert run["data_hash"] == data_hash(won)
    assert beside(out) == []


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs for a full disk needs root")
def test_a_full_disk_leaves_the_old_set_and_says_so(old_set, tmp_path):
    data, config, old = old_set
    disk = tmp_path / "disk"
    disk.mkdir()
    size = sum(p.stat().st_size for p in old.iterdir())
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size * 3 // 2 // 1024 + 64}k", "tmpfs", str(disk)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"root but cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        out = disk / "out"
        shutil.copytree(old, out)
        before = digest(out)
        result = forecast(data, out, "--no-tracking", "--config", config)
        message = assert_clean_failure(result, 1, "No space left on device")
        assert "earlier outputs are as they were" in message
        assert digest(out) == before and beside(out) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)
