"""Events fire from where things happen, written with the change itself: an image
processed (asset.ready) or failing (asset.failed), a campaign's creative refused by
its gates (creative.rejected), an analysis finding a guardrail breached, video
progress thinned out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.conftest import PHOTOS, make_settings
from tests.creative.conftest import SIGNING, B, kit, world  # noqa: F401  (world: a fixture)
from tests.creative.test_campaigns import campaign
from tests.webhooks.conftest import FAST
from vitrina.client.webhooks import verify
from vitrina.creative.documents import DocumentService, parser_for
from vitrina.creative.production import render_campaign
from vitrina.errors import CorruptMedia
from vitrina.experiments_service.service import ExperimentService
from vitrina.kinds.image.steps import DerivativesStep
from vitrina.storage.catalog.db import transaction, upgrade
from vitrina.storage.catalog.models import Asset
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow
from vitrina.storage.catalog.webhooks import WebhookDeliveryRow
from vitrina.testing import make_runtime, process_all
from vitrina.webhooks.progress import ProgressThrottle

A = DEFAULT_PROJECT


def events_of(receiver, secret, n):
    return [verify(secret, g.body, g.headers["vitrina-signature"]) for g in receiver.wait_for(n)]


def test_a_processed_photo_fires_asset_ready_once(rt, receiver) -> None:
    rt.ingestor.ingest_file(PHOTOS / "coffee.png")
    process_all(rt)
    with rt.sessions() as s:  # no subscription: nothing written
        assert s.scalar(select(func.count()).select_from(WebhookDeliveryRow)) == 0
    _, secret = rt.webhooks.create(DEFAULT_PROJECT, receiver.url, ["asset.ready", "asset.failed"])
    asset_id = rt.ingestor.ingest_file(PHOTOS / "rocket.jpg").asset_id
    process_all(rt)
    (event,) = events_of(receiver, secret, 1)
    assert event["type"] == "asset.ready" and event["project"] == DEFAULT_PROJECT
    assert event["data"] == {"asset_id": asset_id, "kind": "image", "status": "ready"}
    assert receiver.got[0].headers["vitrina-event"] == "asset.ready"
    # the same bytes again are the same asset: no second event
    rt.ingestor.ingest_file(PHOTOS / "rocket.jpg")
    process_all(rt)
    assert len(receiver.got) == 1


@dataclass(frozen=True)
class BrokenDerivatives(DerivativesStep):
    def run(self, ctx):
        raise CorruptMedia("the pixels stop half-way", code="corrupt_media")


def test_a_step_failing_for_good_fires_asset_failed(tmp_path, database_url, receiver) -> None:
    settings = make_settings(tmp_path, database_url, webhooks=FAST)
    rt = make_runtime(settings, replace_steps=[BrokenDerivatives()])
    try:
        upgrade(rt.engine)
        _hook, secret = rt.webhooks.create(DEFAULT_PROJECT, receiver.url, ["asset.ready", "asset.failed"])
        asset_id = rt.ingestor.ingest_file(PHOTOS / "coffee.png").asset_id
        process_all(rt)
        (event,) = events_of(receiver, secret, 1)
        assert event["type"] == "asset.failed"
        assert event["data"]["asset_id"] == asset_id and event["data"]["status"] == "failed"
        assert "corrupt_media" in event["data"]["error"]
    finally:
        rt.close()


@pytest.fixture
def two_projects(tmp_path, database_url):
    """The creative tests' production world (``world`` builds on it), whose webhooks
    may reach this test's loopback receiver: the setting a private deployment sets."""
    settings = make_settings(tmp_path, database_url, dev=False, signing={"keys": SIGNING},
                             webhooks={"allow_private_addresses": True, "allow_http": True})
    rt = make_runtime(settings)
    with transaction(rt.sessions) as s:
        s.add(ProjectRow(id=B, name="Team B", quotas={}))
    yield settings, rt
    rt.close()


def test_a_creative_refused_by_its_gates_fires_creative_rejected(world, receiver) -> None:  # noqa: F811
    rt = world.rt
    _hook, secret = rt.webhooks.create(A, receiver.url, ["creative.rejected"])
    # every headline the copy writes for the coffee names a word the brand forbids
    DocumentService(rt.sessions).put(A, "brand_kit", "grey", kit(forbidden_words=["coffee", "espresso", "beans"]),
                                     parser_for("brand_kit", "grey"))
    doc = campaign(brand_kit="grey", templates=["hero"], placements=["square"], items=["coffee"],
                   copy={"variants": 3})
    assert world.client.put("/v1/campaigns/grey", json=doc, headers=world.as_a).status_code == 201
    summary = render_campaign(rt, A, "grey", engine="local", workers=1)
    assert summary.rejected == 3
    rt.webhooks.deliver_due("w1")
    events = events_of(receiver, secret, 3)
    assert sorted(e["data"]["failures"][0] for e in events) == ["forbidden_word", "forbidden_word", "too_long"]
    assert {(e["type"], e["data"]["campaign"], e["data"]["item_id"], e["data"]["placement"])
            for e in events} == {("creative.rejected", "grey", "coffee", "square")}
    # rendering again stores nothing new: no new event
    render_campaign(rt, A, "grey", engine="local", workers=1)
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(WebhookDeliveryRow)) == 3


def test_a_breached_guardrail_fires_once_however_often_it_is_analysed(rt, receiver) -> None:
    _hook, secret = rt.webhooks.create(DEFAULT_PROJECT, receiver.url, ["experiment.guardrail_breached"])
    experiments = ExperimentService(rt.sessions)
    plan = {"metrics": [{"name": "buyers", "kind": "proportion", "event": "buy"},
                        {"name": "errors", "kind": "proportion", "event": "error", "higher_is_better": False}],
            "guardrails": [{"metric": "errors", "tolerance": 0.1}]}
    experiments.create(DEFAULT_PROJECT, {"key": "hero", "variants": [{"key": "control"}, {"key": "b"}]}, plan)
    rng = np.random.default_rng(7)
    t0 = 1_780_000_000.0
    exposures, events = [], []
    for variant, rate in (("control", 0.2), ("b", 0.6)):
        for i in range(300):
            unit = f"{variant}-{i}"
            exposures.append({"experiment": "hero", "unit_id": unit, "variant": variant, "timestamp": t0 + i})
            if rng.random() < rate:
                events.append({"unit_id": unit, "event": "error", "timestamp": t0 + i + 60})
    experiments.log_exposures(DEFAULT_PROJECT, exposures)
    experiments.log_events(DEFAULT_PROJECT, events)
    for _ in range(2):
        result = experiments.result(DEFAULT_PROJECT, "hero")
        assert [g.status for g in result.guardrails] == ["stop"]
    process_all(rt)
    (event,) = events_of(receiver, secret, 1)
    assert event["type"] == "experiment.guardrail_breached"
    data = event["data"]
    assert (data["experiment"], data["metric"], data["variant"], data["tolerance"]) == ("hero", "errors", "b", 0.1)
    assert data["ci_low"] > 0.1
    assert len(receiver.got) == 1


def test_progress_is_thinned_to_one_event_per_few_seconds_and_per_ten_percent() -> None:
    throttle = ProgressThrottle(every_seconds=5.0, step=0.1)
    admitted = [(t, f) for t, f in ((0, 0.02), (1, 0.05), (2, 0.12), (6, 0.15), (7, 0.21), (8, 0.5),
                                     (12, 0.55), (13, 0.9), (14, 1.0), (30, 1.0))
                if throttle.admit("a1", "renditions", f, t)]
    # the first at 10 % done; then 5 s and 10 % apart; the end after a quiet spell
    assert admitted == [(2, 0.12), (8, 0.5), (13, 0.9), (30, 1.0)]
    # another asset has its own clock; another step of the same asset shares the asset's
    assert throttle.admit("a2", "renditions", 0.3, 13)
    assert not throttle.admit("a1", "poster", 0.5, 31)
    assert throttle.admit("a1", "poster", 0.5, 35.5)


def test_video_progress_reports_become_events_for_videos_only(rt, receiver) -> None:
    _hook, secret = rt.webhooks.create(DEFAULT_PROJECT, receiver.url, ["video.progress"])
    image_id = rt.ingestor.ingest_file(PHOTOS / "rocket.jpg").asset_id
    with transaction(rt.sessions) as s:  # a video, as the catalog holds it, without transcoding one
        s.execute(Asset.__table__.update().where(Asset.id == image_id).values(kind="video"))
    assert rt.webhooks.progress.reported(image_id, "renditions", 0.25)
    assert not rt.webhooks.progress.reported(image_id, "renditions", 0.3)  # within the 5 s
    process_all(rt)
    (event,) = events_of(receiver, secret, 1)
    assert event["type"] == "video.progress"
    assert event["data"] == {"asset_id": image_id, "kind": "video", "step": "renditions", "progress": 0.25}
    assert not rt.webhooks.progress.reported("0" * 32, "renditions", 0.5)  # no such asset: nothing
