"""The catalogue side of the model analysers, on both catalogues and without a model:
tag rows written with a signal, runs queued again, the snapshot a text step reads."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import PHOTOS, process_all
from vitrina.assets.states import StepState
from vitrina.pipeline.queue import RUNS, TAGS, requeue, write_signals
from vitrina.pipeline.steps import SignalOut
from vitrina.storage.catalog.db import transaction


def test_tag_rows_follow_their_signal_and_runs_can_be_queued_again(runtime):
    asset_id = runtime.ingestor.ingest_file(PHOTOS / "coffee.png").asset_id
    process_all(runtime)

    def tags():
        with runtime.sessions() as s:
            return sorted(tuple(r) for r in s.execute(select(TAGS.c.tag, TAGS.c.source, TAGS.c.score, TAGS.c.version)
                                                      .where(TAGS.c.asset_id == asset_id)))

    runtime.assets.update_metadata("default", asset_id, {"tags": ["Espresso"]})
    first = [{"label": "Espresso", "score": 0.84, "class_id": 967}, {"label": "tea cup", "score": 0.08, "class_id": 968}]
    with transaction(runtime.sessions) as s:
        write_signals(s, asset_id, [SignalOut("imagenet", "m@1", "1", {"tags": first})])
    assert tags() == [("espresso", "imagenet", 0.84, "1"), ("espresso", "user", None, None),
                      ("tea cup", "imagenet", 0.08, "1")]
    with transaction(runtime.sessions) as s:  # a newer result replaces the model's rows, never a person's
        write_signals(s, asset_id, [SignalOut("imagenet", "m@1", "2", {"tags": [{"label": "cup", "score": 0.5}]})])
    assert tags() == [("cup", "imagenet", 0.5, "2"), ("espresso", "user", None, None)]
    page = runtime.assets.list("default", tag="ESPRESSO")
    assert [a.id for a in page.items] == [asset_id]
    assert [a.id for a in runtime.assets.list("default", tag="cup").items] == [asset_id]
    snapshot = runtime.asset_repository.snapshot(None, asset_id)
    assert snapshot.metadata.tags == ("espresso",) and snapshot.metadata_version == 1
    assert snapshot.signals["imagenet"].value["tags"][0]["label"] == "cup"

    with transaction(runtime.sessions) as s:
        assert requeue(s, asset_id, ("derivatives", "no-such-step")) == 1
    with runtime.sessions() as s:
        state = s.scalar(select(RUNS.c.state).where(RUNS.c.asset_id == asset_id, RUNS.c.step == "derivatives"))
    assert state == StepState.PENDING
    assert runtime.assets.get("default", asset_id).status == "processing"
    assert process_all(runtime) == 1
    assert runtime.assets.get("default", asset_id).status == "ready"
    with transaction(runtime.sessions) as s:  # no text step without the models: nothing to queue
        assert requeue(s, asset_id, ("text",)) == 0
