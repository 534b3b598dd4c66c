"""What a backfill worker does with one batch: read each asset's input, run the stale
analysers over it in their own batch sizes, and hand the values back. Nothing is
written here: the driver writes each batch's results and the job's progress in one
transaction (decision 026)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from vitrina.config import Settings
from vitrina.errors import VitrinaError

log = logging.getLogger("vitrina.batch")

#: runtimes built in this process, by settings (a worker serves many batches)
_RUNTIMES: dict[str, Any] = {}


@dataclass(frozen=True)
class BatchTask:
    """One batch: assets of one input, each with the analysers to run on it."""

    settings: Settings
    kind: str
    input: str
    items: tuple[tuple[str, tuple[str, ...]], ...]  # (asset id, analyser names)


@dataclass
class BatchOutcome:
    #: (asset id, [(name, producer, version, value)]) of every asset computed
    results: list[tuple[str, list[tuple[str, str, str, dict]]]] = field(default_factory=list)
    #: (asset id, code, message) of assets whose input or an analyser failed
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    #: assets deleted since the batch was planned
    gone: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def assets(self) -> int:
        return len(self.results) + len(self.failed) + len(self.gone)


def runtime_for(settings: Settings):
    """This process's runtime for ``settings`` (built once; plug-ins from the settings)."""
    from vitrina.runtime import Runtime

    key = settings.model_dump_json()
    rt = _RUNTIMES.get(key)
    if rt is None:
        rt = _RUNTIMES[key] = Runtime(settings)
    return rt


def compute_batch(task: BatchTask) -> BatchOutcome:
    """The results of ``task``'s analysers on its assets (module-level: engines pickle it)."""
    from vitrina.pipeline.steps import StepContext

    started = time.perf_counter()
    rt = runtime_for(task.settings)
    out = BatchOutcome()
    inputs: dict[str, Any] = {}
    source = rt.registries.analysers.get(task.items[0][1][0]).input if task.items else None
    for asset_id, _ in task.items:
        asset = rt.asset_repository.snapshot(None, asset_id)
        if asset is None:
            out.gone.append(asset_id)
            continue
        try:
            inputs[asset_id] = source.load(StepContext(asset, rt.store, rt.settings, attempt=1))
        except VitrinaError as exc:
            out.failed.append((asset_id, exc.code, exc.message))
        except Exception as exc:  # noqa: BLE001 - one bad asset must not sink its batch
            out.failed.append((asset_id, "input_failed", f"{type(exc).__name__}: {exc}"[:500]))
    values: dict[str, list] = {asset_id: [] for asset_id in inputs}
    bad: dict[str, tuple[str, str]] = {}
    names = dict.fromkeys(n for _, ns in task.items for n in ns)
    for name in names:
        analyser = rt.registries.analysers.get(name)
        todo = [a for a, ns in task.items if name in ns and a in inputs and a not in bad]
        size = max(1, int(analyser.batch_size))
        for start in range(0, len(todo), size):
            chunk = todo[start:start + size]
            for asset_id, value in _analyse(analyser, [inputs[a] for a in chunk], chunk, bad):
                values[asset_id].append((analyser.name, analyser.model or analyser.name, analyser.version, value))
    for asset_id, signals in values.items():
        if asset_id in bad:
            out.failed.append((asset_id, *bad[asset_id]))
        else:
            out.results.append((asset_id, signals))
    out.seconds = time.perf_counter() - started
    return out


def _analyse(analyser, items: list, ids: list[str], bad: dict[str, tuple[str, str]]):
    """(asset id, value) pairs; a batch that raises is retried one item at a time so a
    single bad input fails alone (recorded in ``bad``)."""
    try:
        values = analyser.analyse(items)
        if len(values) != len(items):
            raise ValueError(f"{analyser.name} returned {len(values)} results for {len(items)} inputs")
        return list(zip(ids, values, strict=True))
    except Exception as exc:  # noqa: BLE001 - isolated below
        if len(items) == 1:
            bad[ids[0]] = _failure(analyser, exc)
            return []
    pairs = []
    for asset_id, item in zip(ids, items, strict=True):
        try:
            pairs.append((asset_id, analyser.analyse([item])[0]))
        except Exception as exc:  # noqa: BLE001
            bad[asset_id] = _failure(analyser, exc)
    return pairs


def _failure(analyser, exc: Exception) -> tuple[str, str]:
    code = exc.code if isinstance(exc, VitrinaError) else "analyser_failed"
    return code, f"{analyser.name}: {type(exc).__name__}: {exc}"[:500]
