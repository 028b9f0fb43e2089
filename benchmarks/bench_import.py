"""Catalog import at scale: a 100k-row catalog previewed and applied on SQLite and PostgreSQL,
side by side, with the time of each stage and the peak memory of each run.

Phases, per backend (each backend in its own process, so peak memory is its own):
  preview new   the file read, checked and compared with an empty catalog, and saved
  apply new     100k SKUs written as version 1
  preview 10%   a file with on_hand changed on 10% of the SKUs and 1% new SKUs
  apply 10%     those updates and creates as version 2
  rollback      version 1 restored as version 3
Baselines measured in the same process: pandas.read_csv of the same file (reading only, no
checks) and DataFrame.to_sql of the same rows into the same database (writing only).

    python benchmarks/bench_import.py --rows 100000 [--pg-url URL]
PostgreSQL: --pg-url, else $DEMANDMATCH_BENCH_PG_URL or $DEMANDMATCH_TEST_PG_URL, else a
throwaway cluster when Debian's server is installed; skipped (with the reason) otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HEADER = "货号,商品名称,类目,品牌,吊牌价,进价,残值,库存,箱规,起订量,交期,保质期,单件体积"


def write_files(folder: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    """v1: `rows` SKUs; v2: on_hand changed on 10% of them, plus 1% new SKUs."""
    rng = np.random.default_rng(seed)
    price = np.round(rng.uniform(5, 500, rows), 2)
    cost = np.round(price * rng.uniform(0.3, 0.8, rows), 2)
    stock = rng.integers(0, 5000, rows)
    pack = rng.choice([1, 6, 12, 24], rows)
    cats = np.array(["食品", "美妆", "服饰", "家居", "数码"])[rng.integers(0, 5, rows)]

    def line(i: int, on_hand: int) -> str:
        return (
            f"{i:08d},商品 {i} Product,{cats[i]},品牌{i % 97},{price[i]},{cost[i]},"
            f"{round(cost[i] * 0.2, 2)},{on_hand},{pack[i]},{pack[i] * 2},{i % 30},"
            f"{365 + i % 30},{round(0.1 + (i % 50) / 10, 2)}"
        )

    v1 = folder / "catalog_v1.csv"
    v1.write_text(
        "\n".join([HEADER, *(line(i, stock[i]) for i in range(rows))]) + "\n", encoding="utf-8"
    )
    changed = set(rng.choice(rows, rows // 10, replace=False).tolist())
    body = [line(i, stock[i] + 1 if i in changed else stock[i]) for i in range(rows)]
    price = np.concatenate([price, price[: rows // 100]])
    cost = np.concatenate([cost, cost[: rows // 100]])
    pack = np.concatenate([pack, pack[: rows // 100]])
    cats = np.concatenate([cats, cats[: rows // 100]])
    body += [line(i, 1) for i in range(rows, rows + rows // 100)]
    v2 = folder / "catalog_v2.csv"
    v2.write_text("\n".join([HEADER, *body]) + "\n", encoding="utf-8")
    return v1, v2


def one_backend(url: str, folder: Path) -> dict:
    """Run every phase on one store; returns seconds per phase, stage times and peak RSS."""
    import pandas as pd

    from demandmatch.store import Store

    v1, v2 = folder / "catalog_v1.csv", folder / "catalog_v2.csv"
    store = Store(url)
    store.add_merchant("BENCH")
    out: dict = {"phases": {}, "stages": {}}

    def timed(name, fn):
        start = time.perf_counter()
        result = fn()
        out["phases"][name] = time.perf_counter() - start
        return result

    def preview(path: Path, name: str):
        marks: dict[str, float] = {}
        start = time.perf_counter()

        def progress(stage: str, _done: int, _total: int) -> None:
            marks.setdefault(stage, time.perf_counter() - start)

        result = timed(
            name,
            lambda: store.preview(
                "BENCH", path.read_bytes(), path.name, progress=progress, limit=0
            ),
        )
        marks["done"] = out["phases"][name]
        order = sorted(marks.items(), key=lambda kv: kv[1])
        out["stages"][name] = {
            a: round(tb - ta, 3) for (a, ta), (_b, tb) in zip(order, order[1:], strict=False)
        }
        out["stages"][name]["(upload, read current)"] = round(order[0][1], 3)
        return result

    p1 = preview(v1, "preview new")
    a1 = timed("apply new", lambda: store.apply("BENCH", p1["id"]))
    p2 = preview(v2, "preview 10%")
    a2 = timed("apply 10%", lambda: store.apply("BENCH", p2["id"]))
    timed("rollback", lambda: store.rollback("BENCH", 1))
    out["counts"] = {"v1": p1["counts"], "v2": p2["counts"]}
    out["versions"] = [a1["version"], a2["version"]]
    start = time.perf_counter()
    frame = pd.read_csv(v1, dtype=str)
    out["baseline read_csv"] = time.perf_counter() - start
    start = time.perf_counter()
    with store.engine.begin() as conn:
        frame.to_sql("bench_to_sql", conn, index=False, method=None, chunksize=10_000)
    out["baseline to_sql"] = time.perf_counter() - start
    store.close()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_child(url: str, folder: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", url, "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(rows: int, results: dict[str, dict]) -> None:
    names = ["preview new", "apply new", "preview 10%", "apply 10%", "rollback"]
    print(f"\ncatalog import, {rows:,} rows ({os.cpu_count()} cores); seconds")
    head = f"{'backend':<11}" + "".join(f"{n:>13}" for n in names)
    head += f"{'peak MB':>9}{'read_csv':>10}{'to_sql':>8}{'prev/read':>11}{'apply/sql':>11}"
    print(head)
    for backend, r in results.items():
        p = r["phases"]
        line = f"{backend:<11}" + "".join(f"{p[n]:>13.2f}" for n in names)
        line += f"{r['peak_rss_mb']:>9.0f}{r['baseline read_csv']:>10.2f}"
        line += f"{r['baseline to_sql']:>8.2f}"
        line += f"{p['preview new'] / r['baseline read_csv']:>11.1f}"
        line += f"{p['apply new'] / r['baseline to_sql']:>11.2f}"
        print(line)
    for backend, r in results.items():
        for phase, stages in r["stages"].items():
            parts = ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
            print(f"  {backend} {phase}: {parts}")
        c = r["counts"]
        print(
            f"  {backend} counts: v1 {c['v1']['creates']} creates; v2 {c['v2']['updates']} "
            f"updates, {c['v2']['creates']} creates, {c['v2']['unchanged']} unchanged"
        )
    worst = max(max(r["phases"]["preview new"], r["phases"]["apply new"]) for r in results.values())
    print(f"slowest preview or apply of {rows:,} rows: {worst:.2f} s (target 10 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_backend(args.one, Path(args.dir))))
        return
    from pg_cluster import temporary_cluster  # beside this script, on its sys.path

    with tempfile.TemporaryDirectory(prefix="bench-import.") as tmp:
        folder = Path(tmp)
        write_files(folder, args.rows)
        results = {"SQLite": run_child(f"sqlite:///{folder / 'bench.db'}", folder)}
        pg = (
            args.pg_url
            or os.environ.get("DEMANDMATCH_BENCH_PG_URL")
            or os.environ.get("DEMANDMATCH_TEST_PG_URL")
        )
        if pg:
            results["PostgreSQL"] = run_child(pg, folder)
        else:
            with temporary_cluster() as url:
                if url:
                    results["PostgreSQL"] = run_child(url, folder)
        report(args.rows, results)


if __name__ == "__main__":
    main()
