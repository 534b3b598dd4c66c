"""The vectorised XXH32 equals the C library's for every id length and type."""

from __future__ import annotations

import numpy as np
import pytest
import xxhash

from vitrina.experiments.hashing import hash_many, hash_one, seed_for


def _ids(rng: np.random.Generator, count: int) -> list[str]:
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:")
    return ["".join(rng.choice(alphabet, rng.integers(0, 100))) for _ in range(count)]


def test_every_length_matches_the_c_library():
    rng = np.random.default_rng(0)
    ids = _ids(rng, 3000) + ["x" * n for n in range(130)]
    seed = seed_for("experiment-1")
    expected = np.array([xxhash.xxh32_intdigest(i.encode(), seed) for i in ids], dtype=np.uint32)
    for form in (np.array(ids), np.array(ids, dtype="S"), np.array(ids, dtype=object), ids):
        assert np.array_equal(hash_many(form, seed), expected)
    assert all(hash_one(i, seed) == int(e) for i, e in zip(ids[:50], expected))


def test_non_ascii_and_integers():
    seed = seed_for("s")
    ids = ["élève", "日本語のユーザー", "emoji-😀", "plain"]
    assert list(hash_many(np.array(ids), seed)) == [hash_one(i, seed) for i in ids]
    ints = np.array([0, 1, -1, 2**40, 2**63 - 1], dtype=np.int64)
    expected = [xxhash.xxh32_intdigest(int(i).to_bytes(8, "little", signed=True), seed)
                for i in ints]
    assert list(hash_many(ints, seed)) == expected
    assert hash_one(7, seed) != hash_one("7", seed)


def test_chunks_and_mixed_lengths_keep_row_order():
    seed = seed_for("order")
    ids = np.array([f"u{i}" for i in range(70_000)])
    hashed = hash_many(ids, seed)
    for i in (0, 9, 10, 16_383, 16_384, 50_001, 69_999):
        assert hashed[i] == hash_one(str(ids[i]), seed)


def test_refuses_what_is_not_an_id():
    with pytest.raises(TypeError):
        hash_many(np.array([1.5, 2.5]), 0)
    with pytest.raises(TypeError):
        hash_many(np.array(["a", 3], dtype=object), 0)
    with pytest.raises(TypeError):
        hash_one(1.5, 0)  # type: ignore[arg-type]
    assert len(hash_many(np.array([], dtype="U1"), 0)) == 0


@pytest.mark.parametrize("dtype", ["U", "S"])
def test_equal_length_ids_over_several_chunks(dtype):
    """The no-scan path (every id fills the array's width), bytes read in place."""
    rng = np.random.default_rng(9)
    ids = np.array([f"{rng.integers(0, 2**62):032x}-{i % 1000:03d}" for i in range(40_000)],
                   dtype=dtype)
    seed = seed_for("uniform")
    hashed = hash_many(ids, seed)
    for i in range(0, 40_000, 997):
        raw = ids[i] if dtype == "S" else ids[i].encode()
        assert hashed[i] == xxhash.xxh32_intdigest(raw, seed)


def test_late_surprises_restart_correctly():
    """A non-ASCII or shorter id far into the array (after chunks were hashed on a
    faster assumption) still gives the library's values everywhere."""
    seed = seed_for("late")
    base = [f"{i:036d}" for i in range(40_000)]
    for odd in ("é" + "0" * 35, "short"):
        ids = base[:-1] + [odd]
        hashed = hash_many(np.array(ids), seed)
        for i in (0, 20_000, 39_998, 39_999):
            assert hashed[i] == xxhash.xxh32_intdigest(ids[i].encode(), seed)
    assert list(hash_many(np.array(["", ""]), seed)) == [xxhash.xxh32_intdigest(b"", seed)] * 2
    strided = np.array(base)[::3]
    assert hash_many(strided, seed)[5] == xxhash.xxh32_intdigest(strided[5].encode(), seed)
