"""Run wrk against one loopback URL and read req/s and latency percentiles from it."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


class WrkError(RuntimeError):
    """wrk did not run or printed something this parser does not understand."""


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def ok_per_second(self) -> float:
        """Good answers per second: errors and non-2xx answers do not count as served."""
        return max(self.requests - self.non_2xx, 0) / self.seconds

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def parse(output: str) -> Load:
    """A Load from the text `wrk --latency` prints."""
    total = _TOTAL.search(output)
    percentiles = {m.group(1): float(m.group(2)) * _UNITS_MS[m.group(3)] for m in _PERCENTILE.finditer(output)}
    if total is None or set(percentiles) != {"50", "99"}:
        raise WrkError("unexpected wrk output:\n" + output[-800:])
    non_2xx = _NON_2XX.search(output)
    socket = _SOCKET.search(output)
    return Load(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS_MS[total.group(3)] / 1000.0,
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in socket.groups()) if socket else 0,
    )


def run(wrk: str, url: str, seconds: float, connections: int) -> Load:
    """Load ``url`` for ``seconds`` with ``connections`` keep-alive connections."""
    if urlsplit(url).hostname != "127.0.0.1":
        raise WrkError(f"refusing to load a non-loopback URL: {url}")  # loopback only, always
    threads = max(1, min(2, connections))
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--timeout", "30s", "--latency", url]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired as exc:
        raise WrkError(f"wrk did not finish within {seconds + 60:.0f} s") from exc
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {done.stderr.strip()[-400:]}")
    return parse(done.stdout)
