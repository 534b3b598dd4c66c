"""Check one loopback URL with a single request, then load it with wrk and read req/s
and latency percentiles from what wrk prints."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyvips
from delivery_servers import HOST, client

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


class LoadFailed(RuntimeError):
    """The URL did not answer as asked, or wrk did not run or printed something unexpected."""


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


def probe(url: str, *, smart: bool) -> bytes:
    """The body of one GET, which must be a JPEG that fits in 400x300 (touching one side)
    or, for a smart crop, is exactly 400x300."""
    with client() as http:
        try:
            answer = http.get(url)
        except Exception as exc:
            raise LoadFailed(f"no answer: {exc}") from exc
    if answer.status_code != 200:
        missing_route = answer.status_code == 404 and "/img/" in url
        hint = " (is the /img route mounted?)" if missing_route else ""
        raise LoadFailed(f"answered {answer.status_code}{hint}: {answer.text[:160]!r}")
    kind = answer.headers.get("content-type", "")
    if not kind.startswith("image/jpeg"):
        raise LoadFailed(f"answered {kind!r}, not image/jpeg")
    try:
        image = pyvips.Image.new_from_buffer(answer.content, "")
    except pyvips.Error as exc:
        raise LoadFailed(f"the body does not decode: {exc}") from exc
    w, h = image.width, image.height
    fits = w <= 400 and h <= 300 and (w >= 399 or h >= 299)
    if not ((w, h) == (400, 300) if smart else fits):
        wanted = "a 400x300 crop" if smart else "a fit in 400x300"
        raise LoadFailed(f"answered {w}x{h}, not {wanted}")
    return answer.content


def parse(output: str) -> Load:
    """A Load from the text `wrk --latency` prints."""
    total = _TOTAL.search(output)
    percentiles = {m.group(1): float(m.group(2)) * _UNITS_MS[m.group(3)]
                   for m in _PERCENTILE.finditer(output)}
    if total is None or set(percentiles) != {"50", "99"}:
        raise LoadFailed("unexpected wrk output:\n" + output[-800:])
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
    if urlsplit(url).hostname != HOST:
        raise LoadFailed(f"refusing to load a URL off loopback: {url}")
    threads = max(1, min(2, connections))
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--timeout", "30s", "--latency", url]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise LoadFailed(f"wrk did not finish within {seconds + 60:.0f} s") from exc
    if done.returncode != 0:
        raise LoadFailed(f"wrk exited with {done.returncode}: {done.stderr.strip()[-400:]}")
    return parse(done.stdout)
