"""Start and stop the servers that bench/delivery.py loads, each on a free loopback port.

Every server runs in its own process group, so stopping it also stops its worker
processes (uvicorn's, thumbor's forks, nginx's workers) and nothing else.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HOST = "127.0.0.1"
WORKERS = 2
THUMBOR_REQUIREMENT = "thumbor[opencv]==7.8.0"  # installs on Python 3.11; opencv for smart crop
THUMBOR_VENV = BENCH / ".venv-thumbor"


class ServerFailed(RuntimeError):
    """A server could not be installed, started or reached."""


def client(timeout: float = 30.0) -> httpx.Client:
    # trust_env=False: a proxy from the environment must never see loopback traffic
    return httpx.Client(trust_env=False, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    health_path: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 90.0) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.argv, env={**os.environ, **self.env}, cwd=ROOT,
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        with client(timeout=5.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServerFailed(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    if http.get(self.base + self.health_path).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        self.stop()
        raise ServerFailed(f"{self.name} did not answer {self.health_path} within {timeout:.0f} s:\n"
                           f"{self.log_tail()}")

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

    def log_tail(self, lines: int = 12) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join("    " + line for line in text[-lines:])


# --- the bare pyvips endpoint ------------------------------------------------------------

def bare(workdir: Path, sources: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "--factory",
            "delivery_bare:create_app", "--host", HOST, "--port", str(port),
            "--workers", str(WORKERS), "--log-level", "warning", "--no-access-log"]
    return Server("bare", argv, port, "/healthz", workdir / "bare.log",
                  env={"BENCH_BARE_SOURCES": str(sources)})


# --- Vitrina -----------------------------------------------------------------------------

def vitrina_env(data_dir: Path, *, cache: bool, pipeline_workers: int, http_workers: int) -> dict[str, str]:
    return {
        "VITRINA_DEV": "1",  # unsigned `_` URLs and uploads without an API key
        "VITRINA_DATA_DIR": str(data_dir),
        "VITRINA_HTTP_WORKERS": str(http_workers),
        "VITRINA_INPROCESS_WORKERS": str(pipeline_workers),
        "VITRINA_DELIVERY_CACHE": "1" if cache else "0",
    }


def vitrina(workdir: Path, *, cache: bool, pipeline_workers: int = 0, http_workers: int = WORKERS,
            label: str = "vitrina") -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "vitrina.cli", "serve", "--host", HOST, "--port", str(port)]
    env = vitrina_env(workdir / "vitrina-data", cache=cache, pipeline_workers=pipeline_workers,
                      http_workers=http_workers)
    return Server(label, argv, port, "/healthz", workdir / f"{label}.log", env=env)


def vitrina_upgrade(workdir: Path) -> None:
    """Create the catalog once, before several worker processes would race to do it."""
    env = vitrina_env(workdir / "vitrina-data", cache=False, pipeline_workers=0, http_workers=1)
    done = subprocess.run([sys.executable, "-m", "vitrina.cli", "db", "upgrade"], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise ServerFailed(f"vitrina db upgrade failed:\n{(done.stderr or done.stdout)[-800:]}")


# --- thumbor -----------------------------------------------------------------------------

def install_thumbor(log: Path) -> Path:
    """thumbor in its own virtual environment under bench/, installed once from PyPI."""
    python = THUMBOR_VENV / "bin" / "python"
    marker = THUMBOR_VENV / ".bench-requirement"
    if python.exists() and marker.exists() and marker.read_text() == THUMBOR_REQUIREMENT:
        return THUMBOR_VENV / "bin" / "thumbor"
    print(f"installing {THUMBOR_REQUIREMENT} into {THUMBOR_VENV.relative_to(ROOT)} ...", file=sys.stderr,
          flush=True)
    with open(log, "ab") as out:
        steps = [[sys.executable, "-m", "venv", str(THUMBOR_VENV)],
                 [str(python), "-m", "pip", "install", "--quiet", THUMBOR_REQUIREMENT],
                 [str(python), "-c", "import thumbor, cv2"]]
        for argv in steps:
            if subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=900).returncode != 0:
                raise ServerFailed(f"thumbor install step failed: {' '.join(argv)} (log: {log})\n"
                                   + Server("thumbor", [], 0, "", log).log_tail())
    (THUMBOR_VENV / ".gitignore").write_text("*\n")  # never committed
    marker.write_text(THUMBOR_REQUIREMENT)
    return THUMBOR_VENV / "bin" / "thumbor"


def thumbor_conf(sources: Path, result_dir: Path | None) -> str:
    """No storage of any kind for uncached rows; file result storage for the cached row."""
    lines = [
        "SECURITY_KEY = 'loopback-benchmark-only'",
        "ALLOW_UNSAFE_URL = True",  # loopback only
        "LOADER = 'thumbor.loaders.file_loader'",
        f"FILE_LOADER_ROOT_PATH = {str(sources)!r}",
        "STORAGE = 'thumbor.storages.no_storage'",  # no cached sources or detector results
        "ENGINE = 'thumbor.engines.pil'",
        "DETECTORS = ['thumbor.detectors.face_detector', 'thumbor.detectors.feature_detector']",
        "QUALITY = 80",
        "AUTO_WEBP = False",
    ]
    if result_dir is not None:
        lines += [
            "RESULT_STORAGE = 'thumbor.result_storages.file_storage'",
            f"RESULT_STORAGE_FILE_STORAGE_ROOT_PATH = {str(result_dir)!r}",
            "RESULT_STORAGE_STORES_UNSAFE = True",
            "RESULT_STORAGE_EXPIRATION_SECONDS = 0",
        ]
    return "\n".join(lines) + "\n"


def thumbor(workdir: Path, sources: Path, *, cached: bool) -> Server:
    executable = install_thumbor(workdir / "thumbor-install.log")
    label = "thumbor-cached" if cached else "thumbor"
    conf = workdir / f"{label}.conf"
    conf.write_text(thumbor_conf(sources, workdir / "thumbor-results" if cached else None))
    port = free_port()
    argv = [str(executable), "--ip", HOST, "--port", str(port), "--conf", str(conf),
            "--processes", str(WORKERS), "--log-level", "warning"]
    return Server(label, argv, port, "/healthcheck", workdir / f"{label}.log")


# --- nginx -------------------------------------------------------------------------------

def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def nginx(workdir: Path, static: Path, file_name: str) -> Server:
    binary = nginx_binary()
    if binary is None:
        raise ServerFailed("nginx is not installed (apt-get install -y nginx)")
    port = free_port()
    run = workdir / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run / sub).mkdir(parents=True, exist_ok=True)
    temp = "\n".join(f"  {kind}_temp_path {run / sub};" for kind, sub in (
        ("client_body", "body"), ("proxy", "proxy"), ("fastcgi", "fastcgi"), ("uwsgi", "uwsgi"), ("scgi", "scgi")))
    conf = run / "nginx.conf"
    conf.write_text(f"""daemon off;
master_process on;
worker_processes {WORKERS};
pid {run / 'nginx.pid'};
error_log {run / 'error.log'} warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types {{ image/jpeg jpg; }}
{temp}
  server {{
    listen {HOST}:{port};
    root {static};
  }}
}}
""")
    return Server("nginx", [binary, "-c", str(conf), "-p", str(run), "-e", str(run / "error.log")], port, f"/{file_name}",
                  workdir / "nginx.log")
