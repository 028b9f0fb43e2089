"""The output folder written as one unit: lock, staging, swap, clean-up and modes."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from demandmatch import staging
from demandmatch.errors import OutputBusy, UsageError
from demandmatch.staging import (
    OutputFolder,
    check_replaceable,
    check_writable,
    deferred_signals,
)


def write_set(folder: Path, token: str, n: int = 4) -> None:
    for i in range(n):
        (folder / f"part{i}.csv").write_text(f"{token}\n" * 50, encoding="utf-8")
    (folder / "run.json").write_text(json.dumps({"token": token}), encoding="utf-8")


def tokens(folder: Path) -> set[str]:
    return {p.read_text(encoding="utf-8").split("\n")[0] for p in folder.glob("part*.csv")} | {
        json.loads((folder / "run.json").read_text())["token"]
    }


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def publish(out: Path, token: str) -> None:
    with OutputFolder(out) as folder, folder.stage() as tmp:
        write_set(tmp, token)


def test_a_new_folder_appears_whole_and_leaves_nothing_beside_it(tmp_path):
    out = tmp_path / "out"
    publish(out, "a")
    assert tokens(out) == {"a"} and siblings(out) == []


def test_a_second_set_replaces_the_first_whole(tmp_path):
    out = tmp_path / "out"
    publish(out, "a")
    (out / "stale.csv").write_text("from an older version\n")
    publish(out, "b")
    assert tokens(out) == {"b"} and not (out / "stale.csv").exists()
    assert siblings(out) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["rename-exchange", "two-renames"])
def test_both_swaps_give_the_new_set(tmp_path, monkeypatch, exchange):
    if not exchange:  # a kernel or file system without RENAME_EXCHANGE
        monkeypatch.setattr(staging, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    publish(out, "a")
    publish(out, "b")
    assert tokens(out) == {"b"} and siblings(out) == []


def test_an_error_while_staging_leaves_the_old_set_and_no_debris(tmp_path):
    out = tmp_path / "out"
    publish(out, "a")
    with (
        pytest.raises(OSError, match="disk full"),
        OutputFolder(out) as folder,
        folder.stage() as tmp,
    ):
        write_set(tmp, "b", n=2)
        raise OSError(28, "disk full")
    assert tokens(out) == {"a"} and siblings(out) == []


def test_a_second_run_is_refused_at_once_naming_the_holder(tmp_path):
    out = tmp_path / "out"
    with OutputFolder(out), pytest.raises(OutputBusy) as info, OutputFolder(out):
        pass
    message = str(info.value)
    assert message.startswith(f"--out: another run is writing {out} since ")
    assert message.endswith(f", pid {os.getpid()}")
    with OutputFolder(out):  # released: free again, and the lock file is gone after
        pass
    assert siblings(out) == []


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    out = tmp_path / "out"
    lock = tmp_path / ".out.lock"
    lock.write_text(json.dumps({"pid": 999999, "since": "yesterday"}))  # no flock on it
    publish(out, "a")
    assert tokens(out) == {"a"} and not lock.exists()


def test_what_a_killed_run_left_is_cleaned_or_put_back(tmp_path):
    out = tmp_path / "out"
    publish(out, "a")
    staged = tmp_path / ".out.staging-4242-dead"
    staged.mkdir()
    write_set(staged, "half")
    # killed between the two renames of a swap: the old set moved aside, no `out`
    os.rename(out, tmp_path / ".out.old-4242-dead")
    with OutputFolder(out):
        pass
    assert tokens(out) == {"a"} and siblings(out) == []


def test_files_get_the_umask_modes_whatever_made_them(tmp_path):
    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        with OutputFolder(out) as folder, folder.stage() as tmp:
            fd = os.open(tmp / "private.csv", os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
            (tmp / "sub").mkdir(mode=0o700)
    finally:
        os.umask(old)
    assert (out / "private.csv").stat().st_mode & 0o777 == 0o644
    assert (out / "sub").stat().st_mode & 0o777 == 0o755
    assert out.stat().st_mode & 0o777 == 0o755


def test_only_an_empty_or_earlier_output_folder_is_replaced(tmp_path):
    check_replaceable(tmp_path / "new", ("run.json",))
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty", ("run.json",))
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        check_replaceable(tmp_path / "file", ("run.json",))
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(UsageError, match="holds other files and no run.json"):
        check_replaceable(home, ("run.json",))
    (home / "run.json").write_text("{}")
    check_replaceable(home, ("run.json",))
    with pytest.raises(UsageError, match="cannot be made"):
        check_writable(tmp_path / "file" / "out")


def test_the_swap_holds_signals_until_it_is_done():
    heard: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda n, f: heard.append(n))
    staging_signals = staging._DEFERRED
    try:
        staging._DEFERRED = (signal.SIGUSR1,)
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGUSR1)
            assert heard == []  # held
        assert heard == [signal.SIGUSR1]  # delivered after
    finally:
        staging._DEFERRED = staging_signals
        signal.signal(signal.SIGUSR1, previous)


def test_a_reader_of_the_open_folder_sees_one_whole_set(tmp_path):
    """A reader that opens the folder once and reads every file in it, while sets are swapped
    in as fast as they can be, sees one token per read: never two runs' files mixed."""
    out = tmp_path / "out"
    publish(out, "0")
    stop = threading.Event()
    seen: list[set[str]] = []

    def read() -> None:
        while not stop.is_set():
            fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
            try:
                found = set()
                for name in sorted(os.listdir(fd)):
                    with open(os.open(name, os.O_RDONLY, dir_fd=fd), encoding="utf-8") as fh:
                        text = fh.read()
                    found.add(json.loads(text)["token"] if name == "run.json" else text[:-1][:1])
                if found:  # empty: the old set was removed under the reader, which reads again
                    seen.append(found)
            except FileNotFoundError:
                pass  # the same, part way through
            finally:
                os.close(fd)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(1, 40):
            publish(out, str(i % 10))
    finally:
        stop.set()
        reader.join()
    assert seen and all(len(s) == 1 for s in seen), [s for s in seen if len(s) != 1][:3]
