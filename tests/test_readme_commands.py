"""Every command of the README runs as written, in the order a newcomer types them in
one terminal, against a development server started the way `make run` starts it; where
the README shows output, the actual output has its shape (ids, sizes and timings vary:
hex ids and numbers are compared as such, `...` stands for anything)."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
HOST = "127.0.0.1:8000"
#: blocks shown but not run by the tour test, by a line they hold: the quick start is what
#: starts the server below (and `make test` is this suite); production has a test of its
#: own, and so do the benchmarks (from the clone itself)
NOT_RUN = {"make run": "starts the server", "export VITRINA_DATABASE_URL": "production",
           "bench/": "benchmarks"}
#: the production block's example addresses; the test puts this machine's in their place
PRODUCTION_DB = "postgresql://vitrina@db.internal:5432/vitrina"
PRODUCTION_S3 = "https://s3.eu-west-1.amazonaws.com"
#: production commands that run until stopped: started in the background, then checked
LONG_RUNNING = (".venv/bin/vitrina serve", ".venv/bin/vitrina worker")
#: commands whose README output says they fail: the exit status they must give
EXPECTED_STATUS = {".venv/bin/vitrina ingest tests/data/hostile/truncated.jpg": 1}
#: listings whose rows are ordered by content hashes over ids this run made, and hold
#: counts a bandit drew: their header and their number of rows are compared
ROWS_VARY = (".venv/bin/vitrina creative report ", ".venv/bin/vitrina creative creatives ")
#: progress bars (stderr): their counts and rates vary
TQDM = re.compile(r"\d+%\||^\s*\w+: \d+\w+ \[")


def blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^```(sh|console)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def commands(block: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each ``$ `` line of a console block."""
    out: list[tuple[str, list[str]]] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):
            out[-1][1].append(line)
            i += 1
            continue
        command = line[2:]
        while command.endswith("\\"):
            i += 1
            command += "\n" + lines[i]
        out.append((command, []))
        i += 1
    return out


def norm(line: str) -> str:
    line = re.sub(r"\bvk_[0-9a-f]{16}_[\w-]{43}", "vk_K", line)  # API keys
    line = re.sub(r"[0-9a-f]{16,}", "H", line)
    line = re.sub(r"(?<![\w-])[\w-]{43}(?![\w-])", "S", line)  # URL signatures
    # sizes, timings and statistics vary; small integers (status codes, counts) do not
    line = re.sub(r"\d+(?:[.,]\d+)*e[-+]\d+|\d+(?:[.,]\d+)+|\d{4,}", "N", line)  # 5.19e-05 too
    indent = line[: len(line) - len(line.lstrip())]  # kept: nesting shows in JSON
    return indent + " ".join(line.split())


def same_shape(expected: list[str], actual: list[str]) -> bool:
    want = [norm(e) for e in expected if not TQDM.search(e) and e.strip()]
    got = [norm(a) for a in actual if not TQDM.search(a) and a.strip()]
    i, skip = 0, False
    for e in want:
        if e.strip() == "...":
            skip = True
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in e.split("...")))
        while i < len(got) and not pattern.fullmatch(got[i]):
            if not skip:
                return False
            i += 1
        if i == len(got):
            return False
        i, skip = i + 1, False
    return skip or i == len(got)


def same_rows(expected: list[str], actual: list[str]) -> bool:
    """The same header and as many rows."""
    got = [a for a in actual if a.strip()]
    return len(got) == len(expected) and same_shape(expected[:1], got[:1])


class Shell:
    """One bash, as in a terminal: variables set by a command stay for the next."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        # its own process group, so that closing it stops what it started in the background
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def run(self, command: str, timeout: float = 30) -> tuple[int, str]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{{ {command}\n}} 2>&1 </dev/null; printf '\\n@@END:%s\\n' $?\n".encode())
        self.proc.stdin.flush()
        buf, deadline = b"", time.monotonic() + timeout
        while (m := re.search(rb"\n@@END:(\d+)\n", buf)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise AssertionError(f"{command!r} did not finish in {timeout} s:\n{buf.decode()}")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"the shell ended during {command!r}")
            buf += chunk
        return int(m.group(1)), buf[: m.start()].decode(errors="replace").replace("\r", "\n")

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", 8000))
            return 8000
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the README's commands read from a fresh clone, and nothing it wrote."""
    home = tmp_path_factory.mktemp("clone")
    shutil.copytree(ROOT / "data" / "photos", home / "data" / "photos")
    shutil.copytree(ROOT / "data" / "video", home / "data" / "video")
    shutil.copytree(ROOT / "tests" / "data" / "hostile", home / "tests" / "data" / "hostile")
    shutil.copytree(ROOT / "tests" / "creative" / "data", home / "tests" / "creative" / "data")
    (home / ".venv").symlink_to(ROOT / ".venv")
    text = README.read_text()
    # the files the README shows: `$ cat NAME` blocks and <details> scripts
    for name in re.findall(r"^\$ cat (\S+\.json)$", text, flags=re.MULTILINE):
        (home / name).write_text(text.split(f"$ cat {name}\n", 1)[1].split("\n$ ", 1)[0] + "\n")
    for name in re.findall(r"<summary><code>(\S+\.py)</code></summary>", text):
        script = text.split(f"<summary><code>{name}</code></summary>", 1)[1]
        (home / name).write_text(script.split("```python\n", 1)[1].split("```", 1)[0])
    assert {"hero.json", "home.json", "simulate.py", "shop.py", "visits.py", "brand.json", "spring.json",
            "products.py", "shoppers.py"} <= {p.name for p in home.iterdir()}
    return home


@pytest.fixture(scope="module")
def server(checkout: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITRINA_")}
    # what `make run` runs, on a free port
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/vitrina dev --demo data/photos" in recipe
    proc = subprocess.Popen([".venv/bin/vitrina", "dev", "--demo", "data/photos", "--port", str(port)],
                            cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the development server did not start"
            time.sleep(0.2)
        yield base, env
    finally:
        proc.terminate()
        proc.wait(10)


def settle(base: str, after: str) -> None:
    """What "a moment later" means: no asset is still being processed (a campaign's
    render adds 64 creatives to process)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        busy = [httpx.get(f"{base}/v1/assets", params={"status": s}).json()["items"] for s in ("pending", "processing")]
        if not any(busy):
            return
        time.sleep(0.1)
    raise AssertionError(f"assets still processing 180 s after {after!r}")


def test_every_readme_command_runs_as_written(checkout: Path, server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    here = base.removeprefix("http://")
    shell = Shell(checkout, env | {"PYTHONUNBUFFERED": "1", "COLUMNS": "120"})
    ran, mismatches, previous = 0, [], "the server's start"
    try:
        for kind, block in blocks(README.read_text()):
            if any(marker in block for marker in NOT_RUN):
                continue
            assert kind == "console", f"a runnable sh block: {block[:80]!r}"
            for command, expected in commands(block):
                settle(base, previous)
                # rendering a campaign and simulating its shoppers take tens of seconds
                status, output = shell.run(command.replace(HOST, here), timeout=180)
                output = output.replace(here, HOST)
                ran, previous = ran + 1, command
                assert status == EXPECTED_STATUS.get(command, 0), f"$ {command}\nexit {status}\n{output}"
                compare = same_rows if command.startswith(ROWS_VARY) else same_shape
                if expected and not compare(expected, output.splitlines()):
                    mismatches.append(f"$ {command}\n--- README\n" + "\n".join(expected)
                                      + "\n--- actual\n" + output)
    finally:
        shell.close()
    assert ran >= 30
    assert not mismatches, "\n\n".join(mismatches)


def test_the_sdk_snippet_runs_as_written_in_development_mode(checkout: Path,
                                                            server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    text = README.read_text().split("\n## Python SDK\n", 1)[1]
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0].replace(f"http://{HOST}", base)
    done = subprocess.run([".venv/bin/python", "-c", snippet], check=False, cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) >= 8 and (checkout / "copy.jpg").is_file()


def test_shape_comparison() -> None:
    assert same_shape(["200 image/webp 16174"], ["200 image/webp 15020"])
    assert same_shape(["p 0.000271 0.000271"], ["p 5.19e-05 5.19e-05"])
    assert not same_shape(["200"], ["201"])
    assert same_shape(["01a201802e7fe29f0c9f64ced7a8c7da ready"], ["01a2320076a6aab23d9bdffeb7e235df ready"])
    assert same_shape(["a", "...", "z"], ["a", "b", "c", "z"])
    assert not same_shape(["a", "z"], ["a", "b", "z"])
    assert same_shape(['{"error":{"code":"x","details":{...}}}'], ['{"error":{"code":"x","details":{"n":1}}}'])
    assert not same_shape(['{"code":"x"}'], ['{"code":"y"}'])
    assert same_shape(["vk_..."], ["vk_bf473a9585799434_UhaIlakAl74FhSQz93YgsJhfaaXdr84HB6J6SMAm24I"])
    assert same_shape(["vk_c97a21c9c3506b66_k2nWi8e9Szj_rEFy0oJbmenTGlrD-vbIwpaCq5XuMJM"],
                      ["vk_bf473a9585799434_UhaIlakAl74FhSQz93YgsJhfaaXdr84HB6J6SMAm24I"])


def wait_ready(base: str, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.2)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_production_block_runs_as_written(tmp_path: Path, database_url: str, s3_endpoint: str,
                                              photos: Path) -> None:
    """PostgreSQL and a real S3 API server stand for the README's; then the API
    processes and the separate workers it starts take an upload through to ready."""
    import boto3

    s3_env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
              "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(
        Bucket="media", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    with socket.socket() as s:  # any free port: 8000 may be the tour's server, starting beside this test
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VITRINA_", "AWS_"))} | s3_env
    block = next(b for _, b in blocks(README.read_text()) if PRODUCTION_DB in b)
    shell = Shell(tmp_path, env | {"PYTHONUNBUFFERED": "1"})
    key = ""
    try:
        for command, expected in commands(block):
            command = (command.replace(PRODUCTION_DB, database_url).replace(PRODUCTION_S3, s3_endpoint)
                       .replace("--port 8000", f"--port {port}"))
            if command.startswith(LONG_RUNNING):
                command = re.sub(r"\s+#\s.*$", "", command)  # the comment would hide the redirection
                status, output = shell.run(f"{command} >>{tmp_path / 'processes.log'} 2>&1 &")
            else:
                status, output = shell.run(command, timeout=60)
            assert status == 0, f"$ {command}\nexit {status}\n{output}"
            assert same_shape(expected, output.splitlines()), f"$ {command}\n{output}"
            key = output.strip() if output.startswith("vk_") else key
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, "the API processes")
        auth = {"Authorization": f"Bearer {key}"}
        with open(photos / "rocket.jpg", "rb") as fh:
            created = httpx.post(f"{base}/v1/assets", files={"file": fh}, headers=auth, timeout=30)
        assert created.status_code == 201, created.text
        asset = created.json()
        deadline = time.monotonic() + 60
        while asset["status"] != "ready":
            assert asset["status"] in ("pending", "processing"), asset
            assert time.monotonic() < deadline, "the workers did not process the upload"
            time.sleep(0.3)
            asset = httpx.get(f"{base}/v1/assets/{asset['id']}", headers=auth).json()
        # the original and every derivative are in the bucket, not on this disk
        listed = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing").list_objects_v2(Bucket="media", Prefix="prod/")
        keys = {o["Key"] for o in listed.get("Contents", [])}
        sha = asset["sha256"]
        assert f"prod/originals/{sha[:2]}/{sha[2:4]}/{sha}" in keys
        assert sum(k.startswith(f"prod/derivatives/{asset['id']}/") for k in keys) == len(asset["derivatives"]) > 0
        assert not (tmp_path / "var").exists()
    finally:
        shell.close()


def test_the_benchmark_block_runs_as_written() -> None:
    """Each benchmark shown runs from the clone and ends with the ratio the README shows."""
    block = next(b for _, b in blocks(README.read_text()) if "bench/" in b)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITRINA_")}
    shell = Shell(ROOT, env | {"PYTHONUNBUFFERED": "1"})
    try:
        for command, expected in commands(block):
            status, output = shell.run(command, timeout=300)
            assert status == 0, f"$ {command}\nexit {status}\n{output}"
            assert same_shape(expected, output.splitlines()), f"$ {command}\n{output}"
    finally:
        shell.close()
