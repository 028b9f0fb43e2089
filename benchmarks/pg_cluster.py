"""A throwaway PostgreSQL cluster on 127.0.0.1 for a benchmark run (Debian's server binaries;
run as the postgres user when we are root). None when no server is installed."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def temporary_cluster() -> Iterator[str | None]:
    """Yield a postgresql+psycopg URL of an empty database, or None (and why, on stderr)."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        print("PostgreSQL: no server installed (apt-get install postgresql)")
        yield None
        return
    bin_dir = os.path.dirname(bins[-1])
    root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if root else []
    folder = tempfile.mkdtemp(prefix="demandmatch-bench-pg.")
    if root:
        shutil.chown(folder, "postgres")
    port = _free_port()
    data = os.path.join(folder, "data")

    def run(*args: str) -> None:
        subprocess.run([*run_as, *args], check=True, capture_output=True, timeout=120)

    try:
        run(f"{bin_dir}/initdb", "-D", data, "-A", "trust", "-U", "postgres")
        run(
            f"{bin_dir}/pg_ctl",
            "-D",
            data,
            "-l",
            os.path.join(folder, "log"),
            "-w",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {folder}",
            "start",
        )
        run(f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bench")
    except (subprocess.SubprocessError, OSError) as err:
        print(f"PostgreSQL: could not start a cluster ({err})")
        shutil.rmtree(folder, ignore_errors=True)
        yield None
        return
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/bench"
    finally:
        subprocess.run(
            [*run_as, f"{bin_dir}/pg_ctl", "-D", data, "-m", "fast", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(folder, ignore_errors=True)
