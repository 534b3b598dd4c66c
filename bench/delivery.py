"""Image delivery throughput: Vitrina's /img route against thumbor, a bare pyvips
endpoint (the ceiling for uncached work) and nginx (the ceiling for cached hits).

    .venv/bin/python bench/delivery.py [--duration 10] [--connections 16] [--only vitrina,bare]

Each server runs on a free 127.0.0.1 port with two worker processes and is loaded by
wrk with the same duration and concurrency on the same cases: a 512 px PNG and a
4000x3000 JPEG, each to a 400x300 JPEG by plain fit and by smart crop. Uncached rows
run Vitrina with its result cache off (VITRINA_DELIVERY__CACHE=0) and thumbor without
result storage; the cached row hits one URL repeatedly on Vitrina with the cache on,
thumbor with file result storage and nginx serving the same bytes as a static file.
thumbor is installed on first use into bench/.venv-thumbor (PyPI); wrk and nginx come
from Debian's packages, installed here when running as root. No traffic leaves loopback.

The output ends with `vitrina/thumbor geomean: N.NN` (req/s, geometric mean over the
four uncached cases), `vitrina/bare worst: N.NN` (the lowest of the four) and
`vitrina/nginx cached: N.NN`; `n/a` where a side was not measured. The exit status is
1 when any row could not be measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import delivery_launch as launch
import delivery_wrk as wrk
import pyvips
from delivery_bare import render
from delivery_report import CACHED, CASES, Case, Row, print_report
from delivery_servers import ROOT, Server, ServerFailed

SERVERS = ("vitrina", "thumbor", "bare", "nginx")
CASES_OF = {"vitrina": [*CASES, CACHED], "thumbor": [*CASES, CACHED], "bare": list(CASES),
            "nginx": [CACHED]}
PNG, JPEG = CASES[0].source, CASES[2].source
NGINX_FILE = "derivative.jpg"


def prepare_sources(directory: Path) -> None:
    shutil.copy(ROOT / "data" / "photos" / "astronaut.png", directory / PNG)
    # A camera-sized photo: the real rocket.jpg (640x427) cropped to 4:3 and upscaled
    # with pyvips to 4000x3000, saved as cameras do (quality 90, 4:2:0 chroma), in
    # sRGB like most camera and phone uploads. (rocket.jpg itself is Adobe RGB: Vitrina
    # would convert it and a bare thumbnail would not, so the rows would not compare.)
    photo = pyvips.Image.new_from_file(str(ROOT / "data" / "photos" / "rocket.jpg"))
    photo = photo.icc_transform("srgb").copy()
    photo.remove("icc-profile-data")
    width = round(photo.height * 4 / 3)
    photo = photo.crop((photo.width - width) // 2, 0, width, photo.height)
    photo = photo.resize(4000 / photo.width, vscale=3000 / photo.height, kernel="lanczos3")
    photo.jpegsave(str(directory / JPEG), Q=90, subsample_mode="on")


# --- what each server is asked for a case ------------------------------------------------

def vitrina_path(case: Case, ids: dict[str, str]) -> str:
    ops = "w_400,h_300,c_fill,g_auto,f_jpg" if case.smart else "w_400,h_300,c_fit,f_jpg"
    return f"/img/_/{ops}/{ids[case.source]}"  # `_`: unsigned, allowed in development mode


def thumbor_path(case: Case) -> str:
    fit = "400x300/smart" if case.smart else "fit-in/400x300"
    return f"/unsafe/{fit}/filters:format(jpeg)/{case.source}"


def bare_path(case: Case) -> str:
    return f"/{'attention' if case.smart else 'fit'}/{case.source}"


# --- the runs ----------------------------------------------------------------------------
# The servers of a group run side by side (idle ones cost nothing) and each case is
# loaded on all of them back to back, so drifting background load on the machine
# falls on every server of a case alike.

@dataclass(frozen=True)
class Target:
    name: str
    make: Callable[[], Server]
    path: Callable[[Case], str]


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def failed(server: str, cases: list[Case], why: str) -> list[Row]:
    note(f"{server:8} FAILED: {why}")
    return [Row(server, case, None, why) for case in cases]


def measure(server: str, url: str, case: Case, args: argparse.Namespace) -> tuple[Row, bytes]:
    try:
        body = wrk.probe(url, smart=case.smart)
        if args.warmup > 0:
            wrk.run(args.wrk, url, args.warmup, args.connections)
        load = wrk.run(args.wrk, url, args.duration, args.connections)
    except wrk.LoadFailed as exc:
        note(f"{server:8} {case.label}: FAILED GET {url}: {exc}")
        return Row(server, case, None, str(exc)), b""
    note(f"{server:8} {case.label}: {load.ok_per_second:,.1f} req/s, p50 {load.p50_ms:.1f} ms, "
         f"p99 {load.p99_ms:.1f} ms" + (f", {load.errors} errors" if load.errors else ""))
    return Row(server, case, load), body


def run_group(targets: list[Target], cases: list[Case], args: argparse.Namespace,
              rows: list[Row]) -> dict[str, bytes]:
    """Start the targets side by side, load each case on each; the last body per server."""
    bodies: dict[str, bytes] = {}
    with ExitStack() as stack:
        started: list[tuple[Target, Server]] = []
        for t in targets:
            try:
                started.append((t, stack.enter_context(t.make())))
            except (ServerFailed, subprocess.SubprocessError, OSError) as exc:
                rows += failed(t.name, cases, str(exc))
        for case in cases:
            for t, server in started:
                row, bodies[t.name] = measure(t.name, server.base + t.path(case), case, args)
                rows.append(row)
    return bodies


def run_all(workdir: Path, sources: Path, args: argparse.Namespace, selected: set[str],
            rows: list[Row]) -> None:
    ids: dict[str, str] = {}
    if "vitrina" in selected:
        try:
            ids = launch.vitrina_ingest(workdir, [sources / PNG, sources / JPEG])
        except (ServerFailed, subprocess.SubprocessError, OSError, KeyError, ValueError) as exc:
            rows += failed("vitrina", CASES_OF["vitrina"], f"upload through the API failed: {exc}")
            selected = selected - {"vitrina"}

    def vitrina_target(cache: bool) -> Target:
        label = "vitrina-cached" if cache else "vitrina"
        return Target("vitrina", lambda: launch.vitrina(workdir, cache=cache, label=label),
                      lambda c: vitrina_path(c, ids))

    uncached = [vitrina_target(cache=False),
                Target("thumbor", lambda: launch.thumbor(workdir, sources, cached=False),
                       thumbor_path),
                Target("bare", lambda: launch.bare(workdir, sources), bare_path)]
    run_group([t for t in uncached if t.name in selected], list(CASES), args, rows)

    cached = [vitrina_target(cache=True),
              Target("thumbor", lambda: launch.thumbor(workdir, sources, cached=True),
                     thumbor_path)]
    bodies = run_group([t for t in cached if t.name in selected], [CACHED], args, rows)
    if "nginx" in selected:
        static = workdir / "static"
        static.mkdir(mode=0o755)
        body, origin = bodies.get("vitrina", b""), "vitrina's cached answer"
        if not body:  # Vitrina did not answer: the bytes of the same pyvips call
            body, origin = render(str(sources / CACHED.source), None), "the bare pyvips call"
        (static / NGINX_FILE).write_bytes(body)
        os.chmod(static / NGINX_FILE, 0o644)
        note(f"nginx    serves {len(body):,} bytes from {origin}")
        run_group([Target("nginx", lambda: launch.nginx(workdir, static, NGINX_FILE),
                          lambda c: "/" + NGINX_FILE)], [CACHED], args, rows)


def ensure_debian_tools(selected: set[str]) -> dict[str, str]:
    """wrk and nginx from Debian's packages; the servers that must be skipped, and why."""
    def have(tool: str) -> bool:
        return (shutil.which("wrk") if tool == "wrk" else launch.nginx_binary()) is not None

    missing = [t for t in ("wrk", "nginx") if (t == "wrk" or t in selected) and not have(t)]
    if not missing:
        return {}
    command = f"apt-get update && apt-get install -y {' '.join(missing)}"
    if os.geteuid() == 0 and shutil.which("apt-get"):
        note(f"installing {', '.join(missing)}: {command}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["sh", "-c", command], env=env, stdout=subprocess.DEVNULL, timeout=900,
                       check=False)
    why = f"{' and '.join(t for t in missing if not have(t))} missing; as root run: {command}"
    if not have("wrk"):
        return {name: why for name in selected}
    return {"nginx": why} if "nginx" in selected and not have("nginx") else {}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C: every started server is stopped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds of load per row (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of unmeasured load before each row (default 2; 0: none)")
    parser.add_argument("--connections", type=int, default=16,
                        help="concurrent keep-alive connections (default 16)")
    parser.add_argument("--only", default=",".join(SERVERS),
                        help=f"comma list of servers among {','.join(SERVERS)} (default: all)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (server logs, configurations)")
    args = parser.parse_args()
    selected = {s.strip() for s in args.only.split(",") if s.strip()}
    if not selected or selected - set(SERVERS):
        parser.error(f"--only: pick among {', '.join(SERVERS)}")
    if args.duration < 1 or args.warmup < 0 or args.connections < 1:
        parser.error("--duration must be >= 1, --warmup >= 0 and --connections >= 1")

    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="vitrina-delivery-bench-"))
    os.chmod(workdir, 0o755)  # nginx's workers may run as another user
    rows: list[Row] = []
    try:
        sources = workdir / "sources"
        sources.mkdir(mode=0o755)
        prepare_sources(sources)
        skip = ensure_debian_tools(selected)
        args.wrk = shutil.which("wrk") or "wrk"
        for name in sorted(selected & set(skip)):
            rows += failed(name, CASES_OF[name], skip[name])
        load_before = os.getloadavg()[0]
        run_all(workdir, sources, args, selected - set(skip), rows)
        load_after, cores = os.getloadavg()[0], os.cpu_count() or 1
    finally:
        if args.keep:
            note(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    header = (f"wrk: {args.connections} connections, {args.duration:g} s per row after "
              f"{args.warmup:g} s warm-up; {launch.WORKERS} worker processes per server; "
              f"{cores} cores; 1-min load average {load_before:.2f} before, {load_after:.2f} after")
    if max(load_before, load_after) > cores / 2:
        header += "\nthe machine was busy with other work: expect noisy numbers"
    print_report(rows, header)
    return 1 if any(r.load is None for r in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: every server started was stopped", file=sys.stderr)
        sys.exit(130)
