"""Model analysers in the pipeline: their steps, their stored signals, tags a listing
filters by, and a metadata edit that makes the text embedding run again."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import PHOTOS, make_settings
from vitrina.analysis.models.text_embedding import embed_passages
from vitrina.api.app import create_app
from vitrina.config import MODEL_ANALYSERS
from vitrina.kinds.image.inputs import load_preview
from vitrina.pipeline.backfill import backfill_analysers, requeue_stale, stale_counts
from vitrina.pipeline.queue import TAGS, write_signals
from vitrina.pipeline.steps import SignalOut, StepContext, signal_of
from vitrina.search.vectors import decode_vector
from vitrina.storage.catalog.db import transaction
from vitrina.testing import make_registries, make_runtime, process_all


@pytest.fixture(scope="module")
def api(models):
    app = create_app(models.runtime.settings, start_workers=False)
    with TestClient(app) as client:
        yield client


def test_steps_follow_the_settings(tmp_path):
    on = make_settings(tmp_path, "sqlite://", analysis={"models": list(MODEL_ANALYSERS)})
    rt = make_runtime(on, migrate=False)
    assert [s.name for s in rt.pipelines.steps("image")] == ["probe", "derivatives", "ocr", "signals", "text"]
    assert {s.name: s.version for s in rt.pipelines.steps("image")}["ocr"] == "page@1"
    only = make_runtime(make_settings(tmp_path, "sqlite://", analysis={"models": ["imagenet"]}), migrate=False)
    assert [s.name for s in only.pipelines.steps("image")] == ["probe", "derivatives", "signals"]
    assert "imagenet" in only.registries.analysers and "ocr" not in only.registries.analysers
    off = make_runtime(make_settings(tmp_path, "sqlite://"), migrate=False)  # the suite's default: []
    assert [s.name for s in off.pipelines.steps("image")] == ["probe", "derivatives", "signals"]
    assert [a.name for a in make_registries().analysers] == ["blurhash", "phash", "colors", "quality", "focus"]


def test_processed_assets_carry_model_signals_and_are_found_by_tag(models, api):
    body = api.get(f"/v1/assets/{models.ids['chelsea.png']}").json()
    assert body["status"] == "ready"
    steps = {s["step"]: s for s in body["steps"]}
    assert {"ocr", "signals", "text"} <= steps.keys() and all(s["state"] == "done" for s in steps.values())
    analysers = models.runtime.registries.analysers
    for name in MODEL_ANALYSERS:
        signal = body["signals"][name]
        assert (signal["producer"], signal["version"]) == (analysers.get(name).model, analysers.get(name).version)
    label = body["signals"]["imagenet"]["tags"][0]["label"]
    found = api.get("/v1/assets", params={"tag": label.upper()}).json()["items"]  # normalised like a person's
    assert models.ids["chelsea.png"] in [a["id"] for a in found]
    assert models.ids["coffee.png"] not in [a["id"] for a in found]
    espresso = api.get("/v1/assets", params={"tag": "espresso"}).json()["items"]
    assert [a["id"] for a in espresso] == [models.ids["coffee.png"]]
    assert body["tags"] == []  # the asset's own tags stay a person's


def test_tag_rows_are_replaced_with_their_signal(models):
    rt = models.runtime
    asset_id = models.ids["coffee.png"]

    def rows():
        with rt.sessions() as s:
            return sorted(s.execute(select(TAGS.c.tag, TAGS.c.source, TAGS.c.score)
                                    .where(TAGS.c.asset_id == asset_id)).all())

    before = rows()
    assert ("espresso", "imagenet") in [(r.tag, r.source) for r in before]
    tags = [{"label": " Missile ", "score": 0.2, "class_id": 657}, {"label": "missile", "score": 0.5, "class_id": 744}]
    with transaction(rt.sessions) as s:
        write_signals(s, asset_id, [SignalOut("imagenet", "test@1", "1", {"tags": tags})])
    assert [(r.tag, r.source, r.score) for r in rows()] == [("missile", "imagenet", 0.5)]
    with transaction(rt.sessions) as s:
        write_signals(s, asset_id, [SignalOut("imagenet", "x", "1", {"tags": []})])
    assert rows() == []
    # put the real one back for the other tests, the way an analyser backfill writes it
    analyser = rt.registries.analysers.get("imagenet")
    snapshot = rt.asset_repository.snapshot(None, asset_id)
    value = analyser.analyse([load_preview(StepContext(snapshot, rt.store, rt.settings, attempt=1))])[0]
    with transaction(rt.sessions) as s:
        write_signals(s, asset_id, [signal_of(analyser, value)])
    assert rows() == before
    assert process_all(rt) == 1  # new model tags: the text step ran again, once


def test_a_new_ocr_text_makes_the_text_embedding_run_again(models, api):
    rt = models.runtime
    asset_id = models.ids["chelsea.png"]
    before = dict(rt.asset_repository.snapshot(None, asset_id).signals["text_embedding"].value)
    ocr = rt.registries.analysers.get("ocr")
    with transaction(rt.sessions) as s:  # as a backfill of a newer OCR would
        write_signals(s, asset_id, [signal_of(ocr, {"text": "Chelsea", "lines": []})])
    assert api.get(f"/v1/assets/{asset_id}").json()["status"] == "processing"
    assert process_all(rt) == 1
    after = dict(rt.asset_repository.snapshot(None, asset_id).signals["text_embedding"].value)
    assert after["chars"] == before["chars"] + len("\nChelsea")
    with transaction(rt.sessions) as s:  # as it was, for the other tests
        write_signals(s, asset_id, [signal_of(ocr, {"text": "", "lines": []})])
    assert process_all(rt) == 1
    assert dict(rt.asset_repository.snapshot(None, asset_id).signals["text_embedding"].value) == before
    assert api.get(f"/v1/assets/{asset_id}").json()["status"] == "ready"


def test_an_edit_makes_the_text_embedding_run_again(models, api):
    rt = models.runtime
    asset_id = rt.ingestor.ingest_file(PHOTOS / "astronaut.png").asset_id
    process_all(rt)
    before = api.get(f"/v1/assets/{asset_id}").json()["signals"]["text_embedding"]
    edited = api.patch(f"/v1/assets/{asset_id}", json={"title": "Astronaut portrait in a white space suit"})
    assert edited.status_code == 200
    text_run = {s["step"]: s for s in api.get(f"/v1/assets/{asset_id}").json()["steps"]}["text"]
    assert text_run["state"] == "pending"
    assert process_all(rt) == 1  # the text step alone
    body = api.get(f"/v1/assets/{asset_id}").json()
    after = body["signals"]["text_embedding"]
    assert body["status"] == "ready"
    assert after["text_sha256"] != before["text_sha256"] and after["metadata_version"] == 1
    labels = ", ".join(dict.fromkeys(t["label"] for t in body["signals"]["imagenet"]["tags"]))
    ocr = body["signals"]["ocr"]["text"]
    text = "\n".join(p for p in ["Astronaut portrait in a white space suit", labels, ocr] if p)
    assert after["chars"] == len(text)
    stored = rt.asset_repository.snapshot(None, asset_id).signals["text_embedding"].value
    assert after["embedding"] == {"dim": 384, "dtype": "float32"}  # the API shows the shape only
    assert abs(decode_vector(stored["embedding"]) - embed_passages([text])[0]).max() < 1e-6
    # fields are not embedded: changing one queues nothing
    assert api.patch(f"/v1/assets/{asset_id}", json={"fields": {"shot": 3}}).status_code == 200
    assert process_all(rt) == 0


def test_switching_the_models_on_later_processes_the_assets_already_there(tmp_path):
    db = f"sqlite:///{tmp_path / 'catalog.db'}"
    before = make_runtime(make_settings(tmp_path, db))  # models off, as the suite's default
    asset_id = before.ingestor.ingest_file(PHOTOS / "coffee.png").asset_id
    assert process_all(before) == 2  # derivatives, signals
    before.close()
    rt = make_runtime(make_settings(tmp_path, db, analysis={"models": list(MODEL_ANALYSERS)}))
    # the text step waits for ocr, which the asset has no run of yet: ocr is counted first
    assert stale_counts(rt) == {"ocr": 1, "analyser:imagenet": 1}
    assert requeue_stale(rt) == 2  # ocr pending, text waiting for it
    assert process_all(rt) == 2
    assert backfill_analysers(rt) == 1  # imagenet, in this process
    assert process_all(rt) == 1  # its tags are new text: the text step again
    assert stale_counts(rt) == {}
    signals = rt.asset_repository.snapshot(None, asset_id).signals
    assert {"imagenet", "ocr", "text_embedding"} <= signals.keys()
    assert signals["imagenet"].value["tags"][0]["class_id"] == 967  # espresso
    assert rt.assets.get("default", asset_id).status == "ready"
    rt.close()
