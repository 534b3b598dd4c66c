"""A real OpenAI-compatible model server for the tests: llama-cpp-python's server
running Gemma 3 270M (the ``llm`` extra) as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

#: the assembled model is kept between runs (assembling it reads 250 MB)
MODELS = Path(os.environ.get("VITRINA_TEST_MODELS", Path.home() / ".cache" / "vitrina"))
START_SECONDS = 180.0
MODEL_ALIAS = "gemma-3-270m-q4_k_m"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gemma_model() -> Path:
    from vitrina.llm.local import gemma_path

    return gemma_path(MODELS)


@contextmanager
def llama_server(model: Path, log: Path) -> Iterator[str]:
    """``python -m llama_cpp.server`` on ``model``; yields its API root (``.../v1``)
    once ``/v1/models`` answers, and stops it afterwards."""
    port = free_port()
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host",
            "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
            "--chat_format", "gemma", "--model_alias", MODEL_ALIAS, "--verbose", "False"]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}: "
                                   f"{log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base}/models", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not answer within {START_SECONDS} s")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
