"""One contract for every registered vector index kind, on data with known answers."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vitrina.errors import InvalidInput, VitrinaError
from vitrina.search import IndexUnreadable, UnknownVectorId, VectorIndex

from .conftest import clustered

DIM = 8


def basis(i: int, dim: int = DIM) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[i] = 1.0
    return v


@pytest.fixture
def index(kind) -> VectorIndex:
    """Eight orthogonal unit vectors e0..e7 under ids b0..b7, plus a mix of e0 and e1."""
    index = kind.create(DIM, "cosine")
    index.add([f"b{i}" for i in range(DIM)], np.eye(DIM, dtype=np.float32))
    index.add(["mix01"], np.array([[3, 1, 0, 0, 0, 0, 0, 0]], dtype=np.float32))
    return index


def test_is_a_vector_index(index):
    assert isinstance(index, VectorIndex)
    assert (index.dim, index.metric, len(index)) == (DIM, "cosine", DIM + 1)
    assert "b3" in index and "nope" not in index


def test_nearest_first_with_cosine_scores(index):
    got = index.query(basis(0), 3)
    assert [id_ for id_, _ in got[:2]] == ["b0", "mix01"]
    assert got[0][1] == pytest.approx(1.0, abs=1e-5)
    assert got[1][1] == pytest.approx(3 / np.sqrt(10), abs=1e-5)
    assert got[2][1] == pytest.approx(0.0, abs=1e-5)  # the other basis vectors tie at 0


def test_query_vector_is_normalised_for_cosine(index):
    assert index.query(basis(4) * 7.5, 1)[0][0] == "b4"


def test_exclude_skips_ids_and_still_returns_k(index):
    query = 3 * basis(0) + basis(1)  # mix01 itself, then b0, then b1
    got = index.query(query, 2, exclude={"mix01", "not-there"})
    assert [id_ for id_, _ in got] == ["b0", "b1"]


def test_k_larger_than_the_index_returns_everything(index):
    assert len(index.query(basis(2), 50)) == DIM + 1
    assert len(index.query(basis(2), 50, exclude=["b2"])) == DIM


def test_add_replaces_an_existing_id(index):
    index.add(["b0"], (basis(5) + basis(6))[None, :])
    assert len(index) == DIM + 1
    got = index.query(basis(5), 2)
    assert [id_ for id_, _ in got] == ["b5", "b0"]
    assert got[1][1] == pytest.approx(1 / np.sqrt(2), abs=1e-5)
    assert index.query(basis(0), 1)[0][0] == "mix01"


def test_removed_ids_leave_the_answers(index):
    index.remove(["b0", "mix01"])
    assert len(index) == DIM - 1 and "b0" not in index
    found = [id_ for id_, _ in index.query(basis(0), DIM)]
    assert "b0" not in found and "mix01" not in found
    index.add(["b0"], basis(0)[None, :])
    assert index.query(basis(0), 1)[0][0] == "b0"


def test_empty_index_answers_nothing(kind):
    index = kind.create(DIM, "cosine")
    assert len(index) == 0 and index.query(basis(0), 5) == []
    index.add([], np.empty((0, DIM), dtype=np.float32))
    assert len(index) == 0


def test_dot_metric_ranks_by_inner_product(kind):
    index = kind.create(2, "dot")
    index.add(["long", "short"], np.array([[2.0, 0.0], [0.5, 0.0]], dtype=np.float32))
    got = index.query(np.array([1.0, 0.0], dtype=np.float32), 2)
    assert [id_ for id_, _ in got] == ["long", "short"]
    assert got[0][1] == pytest.approx(2.0, abs=1e-5)


def test_save_and_load_give_the_same_answers(kind):
    vectors = clustered(500, 32, seed=3)
    queries = clustered(20, 32, seed=4)
    index = kind.create(32, "cosine")
    index.add([f"v{i}" for i in range(500)], vectors)
    index.remove(["v7", "v8"])
    loaded = kind.load(index.save())
    assert (loaded.dim, loaded.metric, len(loaded)) == (32, "cosine", 498)
    for q in queries:
        assert loaded.query(q, 10) == index.query(q, 10)
    loaded.add(["new"], queries[0][None, :])  # a loaded index keeps taking updates
    assert loaded.query(queries[0], 1)[0][0] == "new"


@pytest.mark.parametrize("data", [b"", b"garbage", b"VITRINA-VECTOR-INDEX/1\n\xff\xff\xff\xff\xff\xff\xff\x7f{}"])
def test_unreadable_bytes_are_refused(kind, data):
    with pytest.raises(IndexUnreadable):
        kind.load(data)


def test_truncated_index_is_refused(kind, index):
    data = index.save()
    with pytest.raises(IndexUnreadable):
        kind.load(data[: len(data) - 40])


def test_another_kinds_bytes_are_refused(kind, index):
    from vitrina.search import index_kinds

    for other in index_kinds():
        if other.name != kind.name:
            with pytest.raises(IndexUnreadable):
                other.load(index.save())


@pytest.mark.parametrize("bad", [
    np.zeros(DIM + 1, dtype=np.float32),
    np.zeros(DIM - 1, dtype=np.float32),
    np.ones((2, DIM), dtype=np.float32),
    np.array([np.nan] + [1.0] * (DIM - 1), dtype=np.float32),
    np.array([np.inf] + [1.0] * (DIM - 1), dtype=np.float32),
    np.zeros(DIM, dtype=np.float32),  # no direction for cosine
    "not a vector",
])
def test_bad_query_vectors_are_400s(index, bad):
    with pytest.raises(InvalidInput) as err:
        index.query(bad, 3)
    assert err.value.status == 400


@pytest.mark.parametrize("ids, vectors", [
    (["x"], np.ones((1, DIM + 1), dtype=np.float32)),
    (["x", "y"], np.ones((1, DIM), dtype=np.float32)),
    (["x"], np.full((1, DIM), np.nan, dtype=np.float32)),
    (["x", "x"], np.ones((2, DIM), dtype=np.float32)),
    ([""], np.ones((1, DIM), dtype=np.float32)),
    ([7], np.ones((1, DIM), dtype=np.float32)),
    ("x", np.ones((1, DIM), dtype=np.float32)),
])
def test_bad_adds_are_400s_and_change_nothing(index, ids, vectors):
    before = index.query(basis(0), 3)
    with pytest.raises(InvalidInput) as err:
        index.add(ids, vectors)
    assert err.value.status == 400
    assert len(index) == DIM + 1 and "x" not in index
    assert index.query(basis(0), 3) == before


def test_wrong_dimension_names_both_shapes(index):
    with pytest.raises(InvalidInput) as err:
        index.add(["x"], np.ones((1, 1280), dtype=np.float32))
    assert err.value.code == "wrong_vector_dimension"
    assert err.value.details == {"expected": [1, DIM], "got": [1, 1280]}


def test_removing_an_unknown_id_is_a_404_and_removes_nothing(index):
    with pytest.raises(UnknownVectorId) as err:
        index.remove(["b1", "missing"])
    assert err.value.status == 404 and err.value.details["ids"] == ["missing"]
    assert "b1" in index and len(index) == DIM + 1


@pytest.mark.parametrize("k", [0, -1, 1.5, True, 10**9])
def test_bad_k_is_a_400(index, k):
    with pytest.raises(InvalidInput):
        index.query(basis(0), k)


def test_bad_shapes_of_index_are_refused(kind):
    for dim, metric in [(0, "cosine"), (-3, "cosine"), (8, "euclid"), ("8", "cosine")]:
        with pytest.raises(VitrinaError):
            kind.create(dim, metric)


def test_concurrent_queries_with_one_writer(kind):
    """Readers always see whole states: a known vector stays findable while a writer
    adds and removes others (growing the storage on the way)."""
    dim = 16
    index = kind.create(dim, "cosine")
    anchor = basis(0, dim)
    index.add(["anchor"], anchor[None, :])
    stream = clustered(3000, dim, seed=9)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                got = index.query(anchor, 5)
                assert got[0][0] == "anchor"
                assert len({id_ for id_, _ in got}) == len(got)
        except (AssertionError, VitrinaError, RuntimeError) as exc:  # reported below
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for start in range(0, 3000, 100):
            ids = [f"s{i}" for i in range(start, start + 100)]
            index.add(ids, stream[start : start + 100])
            index.remove(ids[:50])
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert not errors, errors[0]
    assert len(index) == 1 + 1500
