"""An output folder written as one unit: a lock, a fresh sibling folder, and a swap.

A run takes the folder's lock first (`OutputFolder`), so a second run into the same folder fails
at once naming the pid that holds it; a lock left by a process that died is taken over (an
`flock` dies with its holder). The run writes every file into a fresh hidden sibling folder
(`stage`) and, once all are there, swaps it in with renames (an atomic exchange where the kernel
offers one, else two renames under the lock). A reader that opens the folder sees either the whole
old set or the whole new one. An error or an interrupt while staging removes the sibling and
leaves the old set as it was; what a SIGKILL leaves behind is cleaned (or, if it was the old set
moved aside, put back) by the next run that takes the lock. Files get the modes the umask gives
(0644 under the usual 022), whatever created them.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from .errors import OutputBusy, UsageError

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def output_path(out: Path | str) -> Path:
    """The folder a run replaces: absolute, through a symlink to its target (so the link
    survives the swap)."""
    path = Path(os.path.abspath(out))
    return path.resolve() if path.is_symlink() else path


def check_replaceable(out: Path, markers: tuple[str, ...], flag: str = "--out") -> None:
    """Raise UsageError unless `out` is absent, an empty folder, or a folder a run wrote (it
    holds one of `markers`): the swap replaces the whole folder, so it must hold nothing else."""
    if out.parent == out:
        raise UsageError(flag, f"{out} is the root folder; give a folder for the outputs")
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(flag, f"{out} is a file, not a folder")
    if any((out / m).is_file() for m in markers):
        return
    if any(out.iterdir()):
        raise UsageError(
            flag,
            f"{out} holds other files and no {' or '.join(markers)}; the run replaces the whole "
            "folder, so give a new or empty folder",
        )


def check_writable(out: Path, flag: str = "--out") -> None:
    """Raise UsageError unless the folder that will hold `out` can be written (the nearest
    existing ancestor for a folder not made yet): the lock and the staging sit beside `out`."""
    ancestor = out.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(flag, f"{ancestor} is a file, so {out} cannot be made")
    try:
        probe = ancestor / f".{out.name}.probe-{os.getpid()}-{secrets.token_hex(3)}"
        probe.mkdir()
        probe.rmdir()
    except OSError as err:
        raise UsageError(flag, f"cannot write in {ancestor}: {err.strerror or err}") from err


class OutputFolder:
    """The lock on an output folder, held from `__enter__` to `__exit__`, and the staging of
    its next contents (`stage`)."""

    def __init__(self, out: Path | str) -> None:
        self.out = output_path(out)
        self.parent = self.out.parent
        self.lock_path = self.parent / f".{self.out.name}.lock"
        self._fd: int | None = None

    def __enter__(self) -> OutputFolder:
        self.parent.mkdir(parents=True, exist_ok=True)
        self._fd = _take_lock(self.lock_path, self.out)
        self.clean_debris()
        return self

    def __exit__(self, *exc: object) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.lock_path)
            os.close(fd)

    def debris(self) -> list[Path]:
        """Sibling folders a killed run left: staged sets, old sets moved aside, probes."""
        name = self.out.name
        prefixes = (f".{name}.staging-", f".{name}.old-", f".{name}.probe-")
        return sorted(p for p in self.parent.iterdir() if p.name.startswith(prefixes))

    def clean_debris(self) -> None:
        """Under the lock no other run is using them: put back an old set whose swap was cut
        short (`out` is missing), remove the rest."""
        left = self.debris()
        old = [p for p in left if ".old-" in p.name]
        if old and not self.out.exists():
            back = max(old, key=lambda p: p.stat().st_mtime)
            os.rename(back, self.out)
            left.remove(back)
        for path in left:
            _remove(path)

    @contextlib.contextmanager
    def stage(self) -> Iterator[Path]:
        """A fresh empty sibling folder to write the new set into; swapped in when the block
        ends without error, removed (the old set untouched) when it raises or is interrupted."""
        if self._fd is None:
            raise RuntimeError("take the output folder's lock first (use it as a context)")
        staging = self.parent / f".{self.out.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"
        os.mkdir(staging, 0o777)
        try:
            yield staging
            settle(staging)
            with deferred_signals():
                self._swap(staging)
        except BaseException:
            _remove(staging)
            raise

    def _swap(self, staging: Path) -> None:
        if self.out.is_dir() and _exchange(staging, self.out):
            _remove(staging)  # now the old set
        elif self.out.exists():
            old = self.parent / f".{self.out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(self.out, old)
            try:
                os.rename(staging, self.out)
            except BaseException:
                os.rename(old, self.out)
                raise
            _remove(old)
        else:
            os.rename(staging, self.out)
        _fsync_dir(self.parent)


def lock_holder(lock_path: Path) -> dict[str, object]:
    """What the lock file says about the run holding it (pid, since, host); {} if unreadable."""
    try:
        info = json.loads(lock_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def atomic_write(path: Path, data: bytes | str) -> Path:
    """Write `data` (text as UTF-8) beside `path`, then rename it into place, so a reader never
    sees half a file; the file gets the umask's mode (0644 under 022), not the 0600 of a
    temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def file_mode() -> int:
    """The mode a new regular file gets from the process's umask (0644 under 022)."""
    return 0o666 & ~current_umask()


def current_umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def settle(folder: Path) -> None:
    """Give every file and folder under `folder` the umask's modes and flush files to disk,
    so that the swap publishes complete files (temporary-file helpers create them 0600)."""
    mask = current_umask()
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            path = os.path.join(root, name)
            os.chmod(path, 0o666 & ~mask)
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    os.chmod(folder, 0o777 & ~mask)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP for the block (the swap), then deliver what came.

    Only the main thread can set handlers; elsewhere the block runs as it is.
    """
    got: list[int] = []
    try:
        with signal_handlers({s: lambda n, f: got.append(n) for s in _DEFERRED}):
            yield
    finally:
        for s in dict.fromkeys(got):
            os.kill(os.getpid(), s)


@contextlib.contextmanager
def signal_handlers(handlers: Mapping[int, object]) -> Iterator[None]:
    """`handlers` (signal -> handler) for the block, the previous ones put back after it. Only
    the main thread can set handlers; elsewhere the block runs as it is."""
    try:
        previous = {s: signal.signal(s, h) for s, h in handlers.items()}  # type: ignore[arg-type]
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _take_lock(lock_path: Path, out: Path) -> int:
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = lock_holder(lock_path)
            since, pid = holder.get("since", "an unknown time"), holder.get("pid", "unknown")
            raise OutputBusy(
                "--out", f"another run is writing {out} since {since}, pid {pid}"
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if not same:  # the holder removed the file as we opened it: lock the new one
            os.close(fd)
            continue
        info = {
            "pid": os.getpid(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "host": socket.gethostname(),
        }
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        return fd


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
