"""The cases bench/delivery.py measures and the table it prints."""

from __future__ import annotations

import math
from dataclasses import dataclass

from delivery_wrk import Load


@dataclass(frozen=True)
class Case:
    label: str
    source: str  # a file name in the sources directory
    smart: bool  # smart crop to exactly 400x300, else a plain fit inside 400x300


@dataclass(frozen=True)
class Row:
    server: str
    case: Case
    load: Load | None  # None: not measured, see error
    error: str = ""


CASES = (
    Case("512 px PNG, fit", "astronaut.png", smart=False),
    Case("512 px PNG, smart crop", "astronaut.png", smart=True),
    Case("4000 px JPEG, fit", "photo-4000x3000.jpg", smart=False),
    Case("4000 px JPEG, smart crop", "photo-4000x3000.jpg", smart=True),
)
CACHED = Case("cached: 4000 px JPEG, fit", "photo-4000x3000.jpg", smart=False)


def _load(rows: list[Row], server: str, case: Case) -> Load | None:
    return next((r.load for r in rows if r.server == server and r.case == case), None)


def _rate(rows: list[Row], server: str, case: Case) -> float | None:
    load = _load(rows, server, case)
    return None if load is None else load.ok_per_second


def _p99(rows: list[Row], server: str, case: Case) -> float | None:
    load = _load(rows, server, case)
    return None if load is None else load.p99_ms


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _fmt(value: float | None, width: int = 0) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}.2f}"


def summary(rows: list[Row]) -> tuple[float | None, float | None, float | None]:
    """(vitrina/thumbor geometric mean, vitrina/bare worst, vitrina/nginx cached) of req/s;
    None unless every case behind a number was measured on both sides."""
    thumbor = [_ratio(_rate(rows, "vitrina", c), _rate(rows, "thumbor", c)) for c in CASES]
    bare = [_ratio(_rate(rows, "vitrina", c), _rate(rows, "bare", c)) for c in CASES]
    geomean = None
    if all(r is not None and r > 0 for r in thumbor):
        geomean = math.exp(sum(math.log(r) for r in thumbor if r) / len(thumbor))
    worst = min(r for r in bare if r is not None) if all(r is not None for r in bare) else None
    cached = _ratio(_rate(rows, "vitrina", CACHED), _rate(rows, "nginx", CACHED))
    return geomean, worst, cached


def print_report(rows: list[Row], header: str) -> None:
    columns = f"{'case':28}{'server':10}{'req/s':>11}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}"
    out = [header, "", columns]
    for case in (*CASES, CACHED):
        for i, r in enumerate(r for r in rows if r.case == case):
            label = case.label if i == 0 else ""
            if r.load is None:
                out.append(f"{label:28}{r.server:10}{'not measured (see below)':>41}")
            else:
                out.append(f"{label:28}{r.server:10}{r.load.ok_per_second:>11,.1f}"
                           f"{r.load.p50_ms:>10.1f}{r.load.p99_ms:>10.1f}{r.load.errors:>8}")
    out += ["", f"{'ratios':28}{'vitrina/bare':>14}{'vitrina/thumbor':>17}"
            + f"{'p99 vitrina/thumbor':>21}"]
    for case in CASES:
        vitrina = _rate(rows, "vitrina", case)
        out.append(f"{case.label:28}{_fmt(_ratio(vitrina, _rate(rows, 'bare', case)), 14)}"
                   f"{_fmt(_ratio(vitrina, _rate(rows, 'thumbor', case)), 17)}"
                   f"{_fmt(_ratio(_p99(rows, 'vitrina', case), _p99(rows, 'thumbor', case)), 21)}")
    vitrina = _rate(rows, "vitrina", CACHED)
    nginx, thumbor = _rate(rows, "nginx", CACHED), _rate(rows, "thumbor", CACHED)
    out.append(f"{CACHED.label:28}vitrina/nginx {_fmt(_ratio(vitrina, nginx))}, "
               f"vitrina/thumbor {_fmt(_ratio(vitrina, thumbor))}")
    failures: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        if r.load is None:
            failures.setdefault((r.server, r.error), []).append(r.case.label)
    if failures:
        out += ["", "not measured:"]
        out += [f"  {server} ({'; '.join(labels)}): {error}"
                for (server, error), labels in failures.items()]
    geomean, worst, cached = summary(rows)
    out += ["", f"vitrina/thumbor geomean: {_fmt(geomean)}", f"vitrina/bare worst: {_fmt(worst)}",
            f"vitrina/nginx cached: {_fmt(cached)}"]
    print("\n".join(out), flush=True)
