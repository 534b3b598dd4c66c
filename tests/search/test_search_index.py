"""The vector indexes behind search by example and text search: kept in the blob store
per (project, signal), brought up to date from the catalogue incrementally, rebuilt when
the stored one is gone or unreadable, exact below a size and HNSW above it with the
same answers; and text embeddings fused with keywords."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import pyvips

from tests.search.conftest import clustered
from tests.search.searching import write_signal
from vitrina.search import live
from vitrina.search.query import parse_query
from vitrina.search.vectors import encode_vector

DIM = 64
SIGNAL = "imagenet"


def _assets(rt, tmp_path: Path, n: int, project: str = "default") -> list[str]:
    """``n`` tiny distinct images, ingested (not processed: the signals are written here)."""
    ids = []
    for i in range(n):
        path = tmp_path / f"tiny-{project}-{i}.png"
        path.write_bytes(pyvips.Image.black(8, 8).new_from_image([i % 256, i // 256, 99]).pngsave_buffer())
        ids.append(rt.ingestor.ingest_file(path, project=project).asset_id)
    return ids


def _embed(rt, ids: list[str], vectors: np.ndarray) -> None:
    for asset_id, v in zip(ids, vectors, strict=True):
        write_signal(rt, asset_id, SIGNAL, {"tags": [], "embedding": encode_vector(v)})


def _manifest(rt, project: str = "default") -> dict:
    return json.loads(rt.store.read_bytes(f"indexes/{project}/{SIGNAL}/manifest.json"))


@pytest.fixture
def rt(runtime):
    runtime.search.indexes.save_interval = 0  # every change is saved at once here
    return runtime


def test_the_index_is_stored_updated_incrementally_and_rebuilt(rt, tmp_path: Path, monkeypatch) -> None:
    ids = _assets(rt, tmp_path, 12)
    vectors = clustered(12, DIM, seed=1)
    _embed(rt, ids[:10], vectors[:10])
    indexes = rt.search.indexes

    index, how = indexes.index("default", SIGNAL)
    assert how.rebuilt == "missing" and len(index) == 10 and index.kind == "exact"
    first = _manifest(rt)
    assert first["count"] == 10 and first["kind"] == "exact" and first["dim"] == DIM and first["position"] > 0

    # nothing changed: nothing read beyond the check, nothing saved
    index, how = indexes.index("default", SIGNAL)
    assert (how.added, how.removed, how.rebuilt) == (0, 0, None) and _manifest(rt) == first

    # a new asset gets its embedding: added to the index, not rebuilt; the position moves;
    # only the signals written since the position (less a minute) were listed
    scans: list[int | None] = []
    listed = indexes.catalogue.signal_times
    monkeypatch.setattr(indexes.catalogue, "signal_times", lambda project, name, since=None: (
        scans.append(since), listed(project, name, since=since))[1])
    _embed(rt, ids[10:11], vectors[10:11])
    index, how = indexes.index("default", SIGNAL)
    assert (how.added, how.removed, how.rebuilt) == (1, 0, None)
    assert len(scans) == 1 and scans[0] is not None
    second = _manifest(rt)
    assert second["count"] == 11 and second["position"] > first["position"] and second["version"] > first["version"]
    found = rt.search.similar("default", ids[10], limit=1)
    assert found.embedded and found.similar[0].similarity < 1

    # a changed embedding replaces the old one; an empty one (no text) takes it out
    write_signal(rt, ids[0], SIGNAL, {"tags": [], "embedding": encode_vector(vectors[10])})
    write_signal(rt, ids[1], SIGNAL, {"tags": [], "embedding": None})
    index, how = indexes.index("default", SIGNAL)
    assert (how.added, how.removed) == (1, 1) and ids[1] not in index and len(index) == 10
    assert index.query(vectors[10], 2)[0][1] == pytest.approx(1.0, abs=1e-5)
    assert {i for i, _ in index.query(vectors[10], 2)} == {ids[0], ids[10]}

    # a deleted asset leaves the index (the count falls short: every id is compared)
    scans.clear()
    rt.assets.delete("default", ids[2])
    index, how = indexes.index("default", SIGNAL)
    assert how.removed == 1 and ids[2] not in index and _manifest(rt)["count"] == 9
    assert scans[-1] is None

    # another process (a fresh holder) loads the stored index and catches up from its position
    _embed(rt, ids[11:12], vectors[11:12])
    indexes.forget()
    index, how = indexes.index("default", SIGNAL)
    # it never read them, so it reads again the signals written within LAG of the position
    assert how.rebuilt is None and ids[11] in index and len(index) == 10 and how.added >= 1

    # the stored index deleted: rebuilt from the catalogue
    for key in list(rt.store.keys(f"indexes/default/{SIGNAL}/")):
        rt.store.delete(key)
    indexes.forget()
    index, how = indexes.index("default", SIGNAL)
    assert how.rebuilt == "missing" and len(index) == 10 and _manifest(rt)["count"] == 10

    # unreadable bytes: rebuilt too
    manifest = _manifest(rt)
    rt.store.put_bytes(f"indexes/default/{SIGNAL}/v{manifest['version']}", b"garbage")
    indexes.forget()
    index, how = indexes.index("default", SIGNAL)
    assert how.rebuilt == "unreadable" and len(index) == 10

    # saves are spaced out: a change waits for the interval (or a flush) to be stored
    indexes.save_interval = 3600
    rt.assets.delete("default", ids[3])
    index, _ = indexes.index("default", SIGNAL)
    assert len(index) == 9 and _manifest(rt)["count"] == 10
    indexes.flush()
    assert _manifest(rt)["count"] == 9


def test_hnsw_above_the_size_line_gives_the_exact_top_ten(rt, tmp_path: Path, monkeypatch) -> None:
    n = 120
    ids = _assets(rt, tmp_path, n)
    vectors = clustered(n, DIM, clusters=8, seed=2)
    _embed(rt, ids, vectors)
    exact = {i: rt.search.similar("default", i, limit=10).similar for i in ids}
    assert rt.search.indexes.index("default", SIGNAL)[0].kind == "exact"

    monkeypatch.setattr(live, "EXACT_MAX_FLOATS", 50 * DIM)  # the line at 50 vectors
    # past the line: the exact index answers while the HNSW one is built beside it
    index, how = rt.search.indexes.index("default", SIGNAL)
    assert index.kind == "exact"
    rt.search.indexes.wait()
    index, how = rt.search.indexes.index("default", SIGNAL)
    assert index.kind == "hnsw" and how.rebuilt == "resized" and _manifest(rt)["kind"] == "hnsw"
    ann = {i: rt.search.similar("default", i, limit=10).similar for i in ids}
    for i in ids:  # the same ten (two at the same similarity, to float precision, may swap)
        assert {n.asset.id for n in ann[i]} == {n.asset.id for n in exact[i]}
        assert [n.similarity for n in ann[i]] == pytest.approx([n.similarity for n in exact[i]], abs=1e-5)

    # a fresh process opens the stored HNSW index as it is
    rt.search.indexes.forget()
    index, how = rt.search.indexes.index("default", SIGNAL)
    assert index.kind == "hnsw" and how.rebuilt is None


def test_each_project_has_its_own_index(rt, tmp_path: Path) -> None:
    rt.projects.create("elsewhere")
    mine, theirs = _assets(rt, tmp_path, 4), _assets(rt, tmp_path, 4, project="elsewhere")
    vectors = clustered(8, DIM, seed=3)
    _embed(rt, mine, vectors[:4])
    _embed(rt, theirs, vectors[4:])
    assert {n.asset.id for n in rt.search.similar("default", mine[0]).similar} == set(mine[1:])
    assert {n.asset.id for n in rt.search.similar("elsewhere", theirs[0]).similar} == set(theirs[1:])
    assert _manifest(rt)["count"] == 4 and _manifest(rt, "elsewhere")["count"] == 4


# --- text embeddings fused with keywords -----------------------------------------------------
WORDS = ["coffee", "espresso", "cup", "rocket", "launch", "space", "cat", "tabby"]
#: a toy text encoder: a word's vector is shared with its synonym, so the embedding finds
#: "espresso" for "coffee" where the keywords do not
_BASIS = np.random.default_rng(5).standard_normal((len(WORDS) // 2, 32)).astype(np.float32)


def _toy_embed(text: str) -> np.ndarray:
    v = np.zeros(32, np.float32) + 1e-3
    for w in text.lower().split():
        if w in WORDS:
            v += _BASIS[WORDS.index(w) // 2]
    return v / np.linalg.norm(v)


def test_text_embeddings_fuse_with_keywords(rt, tmp_path: Path) -> None:
    ids = _assets(rt, tmp_path, 4)
    texts = ["coffee", "espresso", "rocket launch", "tabby cat"]
    for asset_id, text in zip(ids, texts, strict=True):
        write_signal(rt, asset_id, "text_embedding", {"embedding": encode_vector(_toy_embed(text)),
                                                      "text_sha256": "x", "chars": len(text)})
    rt.assets.update_metadata("default", ids[0], {"title": "coffee cup"})
    rt.assets.update_metadata("default", ids[1], {"title": "espresso"})

    # without an encoder: keywords only
    page = rt.search.search("default", parse_query(q="coffee"))
    assert page.components == ("keyword",) and [h.asset.id for h in page.items] == [ids[0]]

    rt.search._encoders = lambda component: _toy_embed if component == "text_embedding" else None
    rt.search._encoder_cache.clear()
    page = rt.search.search("default", parse_query(q="coffee"))
    assert page.components == ("keyword", "text_embedding")
    assert [h.asset.id for h in page.items][:2] == [ids[0], ids[1]]  # the synonym, by the embedding
    top, synonym = page.items[0], page.items[1]
    assert set(top.explain) == {"keyword", "text_embedding"} and set(synonym.explain) == {"text_embedding"}
    assert synonym.explain["text_embedding"]["similarity"] > 0.9
    assert len(page.items) == 2  # the unrelated texts are past the margin from the best match
    for hit in page.items:
        assert math.isclose(hit.score, sum(e["contribution"] for e in hit.explain.values()))
    # similar by text
    found = rt.search.similar("default", ids[0], by="text", limit=1)
    assert found.embedded and found.similar[0].asset.id == ids[1]


def test_cached_text_and_colours_follow_edits(rt, tmp_path: Path) -> None:
    """Search keeps each asset's terms and colours between queries; an edit or a new
    signal is seen by the next query."""
    ids = _assets(rt, tmp_path, 2)
    rt.assets.update_metadata("default", ids[0], {"title": "harbour at dawn"})
    found = lambda **q: [h.asset.id for h in rt.search.search("default", parse_query(**q)).items]
    assert found(q="harbour") == [ids[0]]
    rt.assets.update_metadata("default", ids[0], {"title": "mountain", "tags": ["Snow"]})
    assert found(q="harbour") == [] and found(q="snow mountain") == [ids[0]]
    write_signal(rt, ids[1], "ocr", {"text": "HARBOUR MASTER", "lines": []})
    assert found(q="harbour") == [ids[1]]
    write_signal(rt, ids[1], "colors", {"colors": [{"hex": "#ff0000", "fraction": 1.0}]})
    assert found(color="#ff0000") == [ids[1]]
    write_signal(rt, ids[1], "colors", {"colors": [{"hex": "#00ff00", "fraction": 1.0}]})
    assert found(color="#ff0000") == [] and found(color="#00ff00") == [ids[1]]


def test_a_joint_model_ranks_and_finds_lookalikes(rt, tmp_path: Path) -> None:
    """``clip``: the joint model's text vector against the images' vectors, fused with the
    others; and ``similar?by=clip``."""
    ids = _assets(rt, tmp_path, 3)
    for asset_id, text in zip(ids, ["coffee", "espresso", "rocket"], strict=True):
        write_signal(rt, asset_id, "clip", {"embedding": encode_vector(_toy_embed(text))})
    rt.search._encoders = lambda component: _toy_embed if component == "clip" else None
    rt.search._encoder_cache.clear()
    page = rt.search.search("default", parse_query(q="coffee"))
    assert page.components == ("keyword", "clip")
    assert {h.asset.id for h in page.items} == {ids[0], ids[1]}
    assert all(set(h.explain) == {"clip"} and h.explain["clip"]["similarity"] > 0.9 for h in page.items)
    found = rt.search.similar("default", ids[0], by="clip", limit=5)
    assert found.embedded and found.similar[0].asset.id == ids[1]
    assert rt.search.similar("default", ids[0], by="image").embedded is False


def test_the_kind_follows_the_floats_a_scan_reads() -> None:
    """A scan of 100,000 x 384 answers within 10 ms on one core (decision 023): exact up
    to there, a graph beyond; back to exact only well below the line."""
    assert live.kind_for(100_000, 384) == "exact"
    assert live.kind_for(100_000, 1280) == "hnsw"
    assert live.kind_for(31_000, 1280) == "exact"
    assert live.kind_for(90_000, 384, current="hnsw") == "hnsw"  # within the hysteresis
    assert live.kind_for(70_000, 384, current="hnsw") == "exact"
