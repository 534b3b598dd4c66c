"""A server process for bench/delivery.py: started on a free loopback port, checked
ready, stopped with every process it forked and nothing else.

Each server runs in a process group of its own, so stopping it also stops its worker
processes (uvicorn's, thumbor's forks, nginx's workers).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HOST = "127.0.0.1"  # every server binds here and every request goes here, nowhere else


class ServerFailed(RuntimeError):
    """A server could not be installed, started or reached."""


def client(timeout: float = 30.0) -> httpx.Client:
    # trust_env=False: a proxy from the environment must never see loopback traffic
    return httpx.Client(trust_env=False, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def log_tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "    (no log)"
    return "\n".join("    " + line for line in text[-lines:])


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    health_path: str  # answers 200 once the server is ready
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 90.0) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.argv, env={**os.environ, **self.env}, cwd=ROOT, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready(timeout)
        except BaseException:  # not ready, Ctrl-C included: leave nothing running
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        with client(timeout=5.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServerFailed(f"{self.name} exited with {self.process.returncode}:\n"
                                       f"{log_tail(self.log)}")
                try:
                    if http.get(self.base + self.health_path).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise ServerFailed(f"{self.name} did not answer {self.health_path} within {timeout:.0f} s:"
                           f"\n{log_tail(self.log)}")

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)  # the group this server's start made, only
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue
