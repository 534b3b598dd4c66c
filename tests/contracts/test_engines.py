"""Every registered backfill engine passes the same contract (local process pool, Ray);
then the same backfill on Ray and on the local pool makes byte-equal catalogs.

Ray starts once for this module (every Ray test is here) and stops at its end."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from tests.batch import conftest as batch_fixtures
from tests.batch.conftest import BUMPED, copy_catalog, settings_for
from tests.conftest import ROOT
from tests.contracts import engine_tasks
from vitrina.batch.engines import BackfillEngine, EngineOptions
from vitrina.testing import make_registries

ENGINES = make_registries().engines
OPTIONS = EngineOptions(processes=2)
catalog_template = batch_fixtures.catalog_template  # the batch tests' session catalog


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray")
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    print(f"ray.init: {time.perf_counter() - started:.1f} s")
    yield ray
    ray.shutdown()


@pytest.fixture(params=ENGINES.names())
def engine(request) -> BackfillEngine:
    if request.param == "ray":
        request.getfixturevalue("ray_instance")
    return ENGINES.get(request.param)


def test_the_builtin_engines_are_registered():
    assert {"local", "ray"} <= set(ENGINES.names())
    for e in ENGINES:
        assert isinstance(e, BackfillEngine) and e.name in ENGINES


def test_every_task_gives_one_result_elsewhere(engine):
    import os

    results = list(engine.run(engine_tasks.square, range(20), OPTIONS))
    assert sorted((x, y) for x, y, _ in results) == [(x, x * x) for x in range(20)]
    assert os.getpid() not in {pid for _, _, pid in results}  # computed in other processes


def test_tasks_are_read_lazily_with_a_bound_in_flight(engine):
    taken = []

    def tasks():
        for i in range(1000):
            taken.append(i)
            yield i

    results = engine.run(engine_tasks.square, tasks(), OPTIONS)
    first = next(results)
    assert first[1] == first[0] ** 2
    assert len(taken) <= 16  # not the whole iterator up front
    results.close()  # stops early: what was not started is dropped
    assert len(taken) < 1000


def test_an_error_in_a_task_ends_the_run(engine):
    with pytest.raises(Exception, match="three is refused"):
        list(engine.run(engine_tasks.fail_on_three, range(8), OPTIONS))


def test_no_tasks_no_results(engine):
    assert list(engine.run(engine_tasks.square, [], OPTIONS)) == []


def test_ray_and_local_backfills_make_the_same_catalog(ray_instance, catalog_template, tmp_path):
    from vitrina.batch.backfill import BackfillRequest, backfill
    from vitrina.runtime import Runtime
    from vitrina.storage.catalog.models import Signal

    catalogs = {}
    for name in ("local", "ray"):
        data = copy_catalog(catalog_template, tmp_path / name)
        rt = Runtime(settings_for(data, BUMPED))
        summary = backfill(rt, BackfillRequest(engine=name, processes=2, batch_size=6))
        assert (summary.job.state, summary.assets, summary.failed, summary.job.engine) == ("done", 48, 0, name)
        with rt.sessions() as s:
            catalogs[name] = {(r.asset_id, r.name): (r.producer, r.version, json.dumps(r.value, sort_keys=True))
                              for r in s.scalars(select(Signal))}
        rt.close()
    assert len(catalogs["ray"]) == 48 * 5
    assert {v[1] for v in catalogs["ray"].values()} == {"2.1", "1.1", "3.1"}
    assert catalogs["ray"] == catalogs["local"]  # same signals, byte-equal values
