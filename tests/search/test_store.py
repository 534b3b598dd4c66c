"""Indexes saved in and rebuilt from real blob stores: a local directory and S3 (moto)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vitrina.errors import InvalidInput
from vitrina.plugins import Registry
from vitrina.search import index_kinds
from vitrina.search.hnsw import HnswIndexKind
from vitrina.search.store import IndexStore, Source
from vitrina.storage.blobs.local import LocalBlobStore

from .conftest import clustered

DIM = 48


@pytest.fixture
def store(blobs) -> IndexStore:
    return IndexStore(blobs, index_kinds())


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return clustered(300, DIM, seed=11)


def rows(vectors: np.ndarray):
    return [(f"asset-{i}", v) for i, v in enumerate(vectors)]


def test_save_then_load_gives_the_same_answers(store, kind, vectors):
    index = kind.create(DIM, "cosine")
    index.add([id_ for id_, _ in rows(vectors)], vectors)
    saved = store.save("default", "image-embeddings", index, position=42)
    loaded, manifest = store.load("default", "image-embeddings")
    assert manifest == saved
    assert (manifest.kind, manifest.dim, manifest.metric, manifest.count, manifest.position) == \
        (kind.name, DIM, "cosine", 300, 42)
    assert manifest.library == kind.library and manifest.version == 1
    for q in clustered(10, DIM, seed=12):
        assert loaded.query(q, 10) == index.query(q, 10)


def test_manifest_is_small_json_beside_the_versions(store, blobs, vectors):
    index = index_kinds().get("hnsw").create(DIM, "cosine")
    index.add(["a"], vectors[:1])
    for position in (1, 2, 3):
        index.add([f"p{position}"], vectors[position : position + 1])
        store.save("proj-1", "text", index, position=position)
    keys = list(blobs.keys("indexes/proj-1/text/"))
    # the current version and the one before stay, older ones go
    assert keys == ["indexes/proj-1/text/manifest.json", "indexes/proj-1/text/v2",
                    "indexes/proj-1/text/v3"]
    manifest = json.loads(blobs.read_bytes("indexes/proj-1/text/manifest.json"))
    assert manifest["version"] == 3 and manifest["count"] == 4 and manifest["position"] == 3
    assert manifest["library"].startswith("usearch ")


def test_missing_index_is_rebuilt_with_progress_and_saved(store, kind, vectors):
    calls = []
    opened = store.open("default", "images", kind=kind.name, dim=DIM, metric="cosine",
                        source=lambda: Source(iter(rows(vectors)), position=7, total=300),
                        progress=lambda done, total: calls.append((done, total)), batch_size=128)
    assert opened.rebuilt == "missing" and len(opened.index) == 300
    assert calls == [(128, 300), (256, 300), (300, 300)]
    assert opened.manifest.position == 7 and opened.manifest.count == 300
    assert opened.index.query(vectors[5], 1)[0][0] == "asset-5"

    def no_rebuild() -> Source:
        raise AssertionError("a stored, matching index must not be rebuilt")

    again = store.open("default", "images", kind=kind.name, dim=DIM, metric="cosine",
                       source=no_rebuild)
    assert again.rebuilt is None and again.manifest == opened.manifest
    assert again.index.query(vectors[5], 3) == opened.index.query(vectors[5], 3)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "manifest"])
def test_unreadable_index_is_rebuilt(store, blobs, vectors, damage):
    if not isinstance(blobs, LocalBlobStore) and damage != "flip":
        pytest.skip("one kind of damage is enough to show the S3 path; the rest is the same code")
    opened = store.open("default", "images", kind="hnsw", dim=DIM, metric="cosine",
                        source=lambda: Source(rows(vectors), position=1))
    key = "indexes/default/images/v1"
    data = bytearray(blobs.read_bytes(key))
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        blobs.put_bytes(key, bytes(data))
    elif damage == "truncate":
        blobs.put_bytes(key, bytes(data[:100]))
    elif damage == "delete":
        blobs.delete(key)
    else:
        blobs.put_bytes("indexes/default/images/manifest.json", b"{not json")
    reopened = store.open("default", "images", kind="hnsw", dim=DIM, metric="cosine",
                          source=lambda: Source(rows(vectors[:100]), position=2))
    assert reopened.rebuilt in ("unreadable", "missing")
    assert reopened.rebuilt == ("unreadable" if damage in ("flip", "truncate") else "missing")
    assert len(reopened.index) == 100 and reopened.manifest.position == 2
    assert reopened.manifest.version == (2 if damage != "manifest" else 1)
    assert opened.manifest.count == 300


def test_another_dimension_or_kind_is_rebuilt(store, vectors):
    store.open("default", "images", kind="hnsw", dim=DIM, metric="cosine",
               source=lambda: Source(rows(vectors), position=1))
    wider = np.ones((3, DIM * 2), dtype=np.float32)
    opened = store.open("default", "images", kind="hnsw", dim=DIM * 2, metric="cosine",
                        source=lambda: Source([(f"w{i}", v) for i, v in enumerate(wider)], 5))
    assert opened.rebuilt == "mismatch" and opened.index.dim == DIM * 2
    exact = store.open("default", "images", kind="exact", dim=DIM * 2, metric="cosine",
                       source=lambda: Source([("only", wider[0])], 6))
    assert exact.rebuilt == "mismatch" and exact.index.kind == "exact" and len(exact.index) == 1


def test_an_index_of_an_unregistered_kind_is_rebuilt(blobs, vectors):
    store = IndexStore(blobs, index_kinds())
    store.open("default", "images", kind="exact", dim=DIM, metric="cosine",
               source=lambda: Source(rows(vectors), position=1))
    only_hnsw = Registry("vector index kind", ("name", "library", "create", "load"))
    only_hnsw.add(HnswIndexKind())
    reopened = IndexStore(blobs, only_hnsw).open(
        "default", "images", kind="hnsw", dim=DIM, metric="cosine",
        source=lambda: Source(rows(vectors[:10]), position=2))
    assert reopened.rebuilt == "unreadable" and reopened.index.kind == "hnsw"


def test_a_bad_vector_in_the_source_is_a_clear_error(store):
    source = [("a", np.ones(DIM)), ("b", np.ones(DIM + 1))]
    with pytest.raises(InvalidInput) as err:
        store.open("default", "images", kind="exact", dim=DIM, metric="cosine",
                   source=lambda: Source(source, 1))
    assert err.value.code == "wrong_vector_dimension"
    assert store.manifest("default", "images") is None  # nothing half-built was saved


@pytest.mark.parametrize("project, name", [("", "x"), ("../up", "x"), ("p", "a/b"), ("p", ".hidden")])
def test_unsafe_names_are_refused(store, project, name):
    with pytest.raises(InvalidInput):
        store.manifest(project, name)


@pytest.mark.parametrize("position", [-1, 1.5, "3", None])
def test_position_must_be_a_catalogue_position(store, position):
    index = index_kinds().get("exact").create(DIM, "cosine")
    with pytest.raises(InvalidInput):
        store.save("default", "images", index, position)
