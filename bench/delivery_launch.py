"""How bench/delivery.py starts each server it compares, two worker processes each."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from delivery_servers import BENCH, HOST, ROOT, Server, ServerFailed, client, free_port, log_tail

WORKERS = 2
THUMBOR_REQUIREMENT = "thumbor[opencv]==7.8.0"  # installs on Python 3.11; opencv: smart crop
THUMBOR_VENV = BENCH / ".venv-thumbor"


# --- the bare pyvips endpoint ------------------------------------------------------------

def bare(workdir: Path, sources: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "--factory",
            "delivery_bare:create_app", "--host", HOST, "--port", str(port),
            "--workers", str(WORKERS), "--log-level", "warning", "--no-access-log"]
    return Server("bare", argv, port, "/healthz", workdir / "bare.log",
                  env={"BENCH_BARE_SOURCES": str(sources)})


# --- Vitrina -----------------------------------------------------------------------------

def _vitrina_env(workdir: Path, *, cache: bool, pipeline_workers: int,
                 http_workers: int) -> dict[str, str]:
    return {
        "VITRINA_DEV": "1",  # unsigned `_` URLs, uploads without an API key
        "VITRINA_DATA_DIR": str(workdir / "vitrina-data"),
        "VITRINA_SERVER__HTTP_WORKERS": str(http_workers),
        "VITRINA_SERVER__INPROCESS_WORKERS": str(pipeline_workers),
        "VITRINA_DELIVERY__CACHE": "1" if cache else "0",  # the /img result cache
    }


def vitrina(workdir: Path, *, cache: bool, pipeline_workers: int = 0, http_workers: int = WORKERS,
            label: str = "vitrina") -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "vitrina.cli", "serve", "--host", HOST, "--port", str(port)]
    env = _vitrina_env(workdir, cache=cache, pipeline_workers=pipeline_workers,
                       http_workers=http_workers)
    return Server(label, argv, port, "/healthz", workdir / f"{label}.log", env=env)


def vitrina_ingest(workdir: Path, files: list[Path], wait_seconds: float = 240.0) -> dict[str, str]:
    """Upload ``files`` through the API to a server with pipeline workers, wait until they
    are processed, stop it; the asset id of each file name."""
    env = _vitrina_env(workdir, cache=False, pipeline_workers=0, http_workers=1)
    # the catalog is made once here, before several worker processes would race to make it
    done = subprocess.run([sys.executable, "-m", "vitrina.cli", "db", "upgrade"], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise ServerFailed(f"vitrina db upgrade failed:\n{(done.stderr or done.stdout)[-800:]}")
    ids: dict[str, str] = {}
    with vitrina(workdir, cache=False, pipeline_workers=2, http_workers=1,
                 label="vitrina-ingest") as server, client(timeout=120.0) as http:
        for path in files:
            with open(path, "rb") as f:
                answer = http.post(server.base + "/v1/assets", files={"file": (path.name, f)})
            if answer.status_code not in (200, 201):
                raise ServerFailed(f"upload of {path.name} answered {answer.status_code}: "
                                   f"{answer.text[:200]!r}")
            ids[path.name] = answer.json()["id"]
        deadline, pending = time.monotonic() + wait_seconds, dict(ids)
        while pending and time.monotonic() < deadline:
            for name, asset_id in list(pending.items()):
                status = http.get(f"{server.base}/v1/assets/{asset_id}").json().get("status")
                if status in ("ready", "failed"):
                    print(f"vitrina  uploaded {name} as {asset_id}: {status}", file=sys.stderr)
                    del pending[name]
            time.sleep(0.5)
    if pending:
        print(f"vitrina  still processing after {wait_seconds:.0f} s: {sorted(pending)}; "
              "measuring anyway", file=sys.stderr)
    return ids


# --- thumbor -----------------------------------------------------------------------------

def install_thumbor(log: Path) -> Path:
    """thumbor in its own virtual environment under bench/, installed once from PyPI."""
    python, marker = THUMBOR_VENV / "bin" / "python", THUMBOR_VENV / ".bench-requirement"
    if python.exists() and marker.exists() and marker.read_text() == THUMBOR_REQUIREMENT:
        return THUMBOR_VENV / "bin" / "thumbor"
    print(f"installing {THUMBOR_REQUIREMENT} into {THUMBOR_VENV.relative_to(ROOT)} ...",
          file=sys.stderr, flush=True)
    steps = [[sys.executable, "-m", "venv", str(THUMBOR_VENV)],
             [str(python), "-m", "pip", "install", "--quiet", THUMBOR_REQUIREMENT],
             [str(python), "-c", "import thumbor, cv2"]]
    with open(log, "ab") as out:
        for argv in steps:
            done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=900,
                                  check=False)
            if done.returncode != 0:
                raise ServerFailed(f"thumbor install failed at: {' '.join(argv)}\n{log_tail(log)}")
    marker.write_text(THUMBOR_REQUIREMENT)
    return THUMBOR_VENV / "bin" / "thumbor"


def thumbor_conf(sources: Path, storage: Path, result_dir: Path | None) -> str:
    """thumbor as shipped, reading files; file result storage only for the cached row."""
    lines = [
        "SECURITY_KEY = 'loopback-benchmark-only'",
        "ALLOW_UNSAFE_URL = True",  # loopback only
        "LOADER = 'thumbor.loaders.file_loader'",
        f"FILE_LOADER_ROOT_PATH = {str(sources)!r}",
        # thumbor's default storage keeps sources and smart-crop detector results, as
        # Vitrina keeps the focal point found at ingest: neither detects per request
        "STORAGE = 'thumbor.storages.file_storage'",
        f"FILE_STORAGE_ROOT_PATH = {str(storage)!r}",
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
    results = workdir / "thumbor-results" if cached else None
    conf.write_text(thumbor_conf(sources, workdir / "thumbor-storage", results))
    port = free_port()
    argv = [str(executable), "--ip", HOST, "--port", str(port), "--conf", str(conf),
            "--processes", str(WORKERS), "--log-level", "warning"]
    return Server(label, argv, port, "/healthcheck", workdir / f"{label}.log")


# --- nginx -------------------------------------------------------------------------------

def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    return found or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def nginx(workdir: Path, static: Path, file_name: str) -> Server:
    binary = nginx_binary()
    if binary is None:
        raise ServerFailed("nginx is not installed (apt-get install -y nginx)")
    port, run = free_port(), workdir / "nginx"
    temp_paths = []
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run / kind).mkdir(parents=True, exist_ok=True)
        temp_paths.append(f"  {kind}_temp_path {run / kind};")
    conf = run / "nginx.conf"
    conf.write_text("\n".join([
        "daemon off;",
        "master_process on;",
        f"worker_processes {WORKERS};",
        f"pid {run / 'nginx.pid'};",
        f"error_log {run / 'error.log'} warn;",
        "events { worker_connections 4096; }",
        "http {",
        "  access_log off;",
        "  sendfile on;",
        "  tcp_nopush on;",
        "  keepalive_requests 1000000;",  # as the other servers: no forced reconnects
        "  types { image/jpeg jpg; }",
        *temp_paths,
        f"  server {{ listen {HOST}:{port}; root {static}; }}",
        "}",
    ]) + "\n")
    argv = [binary, "-c", str(conf), "-p", str(run), "-e", str(run / "error.log")]
    return Server("nginx", argv, port, f"/{file_name}", workdir / "nginx.log")
