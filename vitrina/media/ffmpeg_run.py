"""Run one ffmpeg command under limits, reporting its progress as it goes.

Every run: stdin closed, a cap on the address space the process may map (``ulimit -v``
set by a ``/bin/sh`` that then ``exec``s ffmpeg, so the limit is in place before ffmpeg
reads a byte and no Python runs between fork and exec), a wall-clock limit after which
the process is killed (a :class:`TimeoutError`), and ffmpeg's ``-progress`` lines read
from its stdout while it runs. What ffmpeg logs goes to a temporary file (no pipe that
could fill up and stall it) and is returned to the caller, which may read encoder
statistics from it.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from vitrina.errors import VitrinaError


class TranscodeFailed(VitrinaError):
    """ffmpeg gave up on a file the probe accepted: broken further in than the probe
    reads, or over the memory limit. Retrying the same bytes cannot help."""

    status, code = 422, "transcode_failed"


#: bytes of the log read from its start and from its end: encoders log their options at the
#: start and their statistics at the end; a broken stream may log an error a frame between
LOG_KEEP = 1 << 20
#: ffmpeg writes its progress block this often (seconds)
PROGRESS_PERIOD = "0.5"


def progress_args() -> list[str]:
    """ffmpeg options that make it write ``key=value`` progress lines to stdout."""
    return ["-progress", "pipe:1", "-stats_period", PROGRESS_PERIOD]


def run_ffmpeg(cmd: list[str], *, timeout: float, memory_bytes: int, duration: float = 0.0,
               progress: Callable[[float], None] | None = None, private: tuple[Path, ...] = ()) -> str:
    """Run ``cmd`` (an ffmpeg argv with :func:`progress_args` in it when ``progress`` is
    given) and return its log. ``progress`` gets ``out_time / duration`` after each
    progress block. Over ``timeout`` seconds the process is killed and a
    :class:`TimeoutError` raised; a non-zero exit is :class:`TranscodeFailed` with the
    log's tail (the ``private`` paths replaced, so no server path reaches a client)."""
    # "$0" is the limit in KiB, "$@" the command: no quoting of the argv by hand
    wrapped = ["/bin/sh", "-c", 'ulimit -v "$0" && exec "$@"', str(max(1, memory_bytes // 1024)), *cmd]
    with tempfile.TemporaryFile(prefix="vitrina-ffmpeg-log-") as log:
        proc = subprocess.Popen(wrapped, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:  # ends when ffmpeg exits or is killed
                if progress is not None and duration > 0 and raw.startswith(b"out_time_us="):
                    value = raw[len(b"out_time_us="):].strip()
                    if value.isdigit():
                        progress(min(1.0, int(value) / 1e6 / duration))
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:  # the progress hook raised: never leave ffmpeg running
                proc.kill()
                proc.wait()
            proc.stdout.close()
        text = _head_and_tail(log)
    if killed.is_set() and code != 0:  # a timer firing just after a clean exit killed nothing
        raise TimeoutError(f"ffmpeg ran longer than {timeout:g} s")
    if code != 0:
        tail = "\n".join(line for line in text.splitlines()[-4:])
        for path in private:
            tail = tail.replace(str(path), "<path>")
        raise TranscodeFailed("The video could not be transcoded.",
                              details={"reason": tail[-300:], "exit": code})
    return text


def _head_and_tail(log) -> str:
    size = log.seek(0, 2)
    log.seek(0)
    if size <= 2 * LOG_KEEP:
        return log.read().decode("utf-8", "replace")
    head = log.read(LOG_KEEP)
    log.seek(size - LOG_KEEP)
    tail = log.read()
    # cut at line ends, so no half line reads as a whole one
    head, tail = head[:head.rfind(b"\n") + 1], tail[tail.find(b"\n") + 1:]
    return (head + b"[...]\n" + tail).decode("utf-8", "replace")
