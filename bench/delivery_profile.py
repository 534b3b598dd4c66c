"""The uncached /img miss path against the bare pyvips call, in one process and without
HTTP: per-request microseconds for quick comparisons, and a steady loop to profile.

    .venv/bin/python bench/delivery_profile.py --workdir /tmp/vp            # both sides, 4 cases
    .venv/bin/python bench/delivery_profile.py --workdir /tmp/vp --only vitrina --case png-fit \\
        --requests 60 --concurrency 2

The first run with a new --workdir makes the bench's two sources and uploads them
through a short-lived server (as bench/delivery.py does); later runs reuse them. Each
side then answers --warmup requests untimed and --requests timed, --concurrency at a
time, and prints wall and CPU (all threads) microseconds per request.

Noise-free figures come from counting instructions: run a side twice under callgrind
with different --requests and divide the difference of the totals by the difference of
the counts (start-up and warm-up cancel out), e.g.

    valgrind --tool=callgrind --callgrind-out-file=a.out .venv/bin/python \\
        bench/delivery_profile.py --workdir /tmp/vp --only vitrina --case png-fit --requests 10
    (the same with --requests 60 into b.out; callgrind_annotate gives each total)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import delivery_launch as launch
from delivery import JPEG, PNG, prepare_sources, vitrina_path
from delivery_bare import render
from delivery_report import CASES

CASE_NAMES = {f"{'png' if c.source == PNG else 'jpeg'}-{'smart' if c.smart else 'fit'}": c
              for c in CASES}  # fmt: skip


def library(workdir: Path) -> dict[str, str]:
    """The sources under ``workdir`` and their asset ids, uploaded on first use."""
    ids_file = workdir / "ids.json"
    if not ids_file.exists():
        sources = workdir / "sources"
        sources.mkdir(parents=True, exist_ok=True)
        prepare_sources(sources)
        ids = launch.vitrina_ingest(workdir, [sources / PNG, sources / JPEG])
        ids_file.write_text(json.dumps(ids))
    return json.loads(ids_file.read_text())


def vitrina_side(workdir: Path, ids: dict[str, str]) -> Callable[[str], Awaitable[bytes]]:
    os.environ.update(launch._vitrina_env(workdir, cache=False, pipeline_workers=0,
                                          http_workers=1))  # fmt: skip
    from vitrina.config import load_settings
    from vitrina.runtime import Runtime

    service = Runtime(load_settings()).images

    async def one(case: str) -> bytes:
        answer, _ = await service.answer(vitrina_path(CASE_NAMES[case], ids), None)
        return answer.body

    return one


def bare_side(workdir: Path) -> Callable[[str], Awaitable[bytes]]:
    pool = ThreadPoolExecutor(2)  # as delivery_bare.py

    async def one(case: str) -> bytes:
        c = CASE_NAMES[case]
        crop = "attention" if c.smart else None
        path = str(workdir / "sources" / c.source)
        return await asyncio.get_running_loop().run_in_executor(pool, render, path, crop)

    return one


async def measure(one: Callable[[str], Awaitable[bytes]], case: str,
                  args: argparse.Namespace) -> tuple[float, float]:  # fmt: skip
    async def run(n: int) -> None:
        for start in range(0, n, args.concurrency):
            await asyncio.gather(*(one(case) for _ in range(min(args.concurrency, n - start))))

    await run(args.warmup)
    wall, cpu = time.perf_counter(), time.process_time()
    await run(args.requests)
    n = max(1, args.requests)
    return 1e6 * (time.perf_counter() - wall) / n, 1e6 * (time.process_time() - cpu) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True,
                        help="sources, catalog and blobs (made on first use, then reused)")
    parser.add_argument("--only", choices=("vitrina", "bare"), help="one side only")
    parser.add_argument("--case", choices=sorted(CASE_NAMES), action="append",
                        help="a case (repeatable; default: all four)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight")
    args = parser.parse_args()
    if args.requests < 0 or args.warmup < 0 or args.concurrency < 1:
        parser.error("--requests and --warmup must be >= 0, --concurrency >= 1")
    workdir = args.workdir.resolve()
    ids = library(workdir)
    sides = {"vitrina": lambda: vitrina_side(workdir, ids), "bare": lambda: bare_side(workdir)}
    for name, make in sides.items():
        if args.only not in (None, name):
            continue
        one = make()
        for case in args.case or sorted(CASE_NAMES):
            wall, cpu = asyncio.run(measure(one, case, args))
            print(f"{name:8} {case:12} {wall:9.0f} us wall {cpu:9.0f} us cpu per request",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
