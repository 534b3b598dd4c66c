"""XXH32 of unit ids, one at a time (the C library) or vectorised in numpy.

Both paths give the same 32-bit value for the same id and seed, so a unit lands in
the same bucket whether it is assigned by one call in a web process or in a batch
of millions in a job. The vectorised path groups ids by byte length and runs the
XXH32 rounds in place over columns, in chunks small enough to stay in cache
(32-bit lanes: numpy multiplies them with SIMD, unlike 64-bit ones).

Ids are strings (hashed as their UTF-8 bytes) or integers (hashed as their 8-byte
little-endian two's-complement value): ``"42"`` and ``42`` are different units.
Trailing NUL characters of a string id are not part of it (numpy pads with them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xxhash

Q1, Q2, Q3, Q4, Q5 = (np.uint32(q) for q in (2654435761, 2246822519, 3266489917, 668265263,
                                             374761393))
_SHIFTS = {r: (np.uint32(r), np.uint32(32 - r)) for r in (1, 7, 11, 12, 13, 17, 18)}
_CHUNK = 16384  # rows per pass: a few uint32 columns of this stay in L1/L2

UnitId = str | int


def seed_for(salt: str) -> int:
    """The XXH32 seed of a salt (experiment key, layer name, ...)."""
    return xxhash.xxh32_intdigest(salt.encode("utf-8"), 0)


def hash_one(unit_id: UnitId, seed: int) -> int:
    if isinstance(unit_id, str):
        return xxhash.xxh32_intdigest(unit_id.encode("utf-8"), seed)
    if isinstance(unit_id, (int, np.integer)) and not isinstance(unit_id, bool):
        return xxhash.xxh32_intdigest(int(unit_id).to_bytes(8, "little", signed=True), seed)
    raise TypeError(f"a unit id is a str or an int, not {type(unit_id).__name__}")


def hash_many(unit_ids: Sequence[UnitId] | np.ndarray, seed: int) -> np.ndarray:
    """XXH32 of every id as a uint32 array (the same values as :func:`hash_one`).
    Fastest on numpy byte strings (``S``: UTF-8, as Parquet/Arrow hold them), then
    on ASCII ``U`` arrays; integer arrays hash their 8-byte values."""
    arr = np.asarray(unit_ids)
    if arr.ndim != 1:
        raise ValueError("unit ids must be one-dimensional")
    if len(arr) == 0:
        return np.zeros(0, dtype=np.uint32)
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
            raise ValueError("integer unit ids must fit in int64")
        raw = np.ascontiguousarray(arr, dtype="<i8").view(np.uint8).reshape(-1, 8)
        return _hash_rows(lambda a, b: raw[a:b], len(arr), 8, seed,
                          np.empty(len(arr), dtype=np.uint32))
    if arr.dtype.kind == "O":
        if not all(isinstance(x, str) for x in arr):
            raise TypeError("a unit id array holds only strings or only integers")
        arr = arr.astype(str)
    arr = np.ascontiguousarray(arr)
    if arr.dtype.kind == "U":
        try:  # ASCII (checked chunk by chunk): the code points are the UTF-8 bytes
            return _hash_strings(arr.view(np.uint32).reshape(len(arr), -1), arr, seed)
        except _NotAscii:
            arr = np.char.encode(arr, "utf-8")
    if arr.dtype.kind == "S":
        return _hash_strings(arr.view(np.uint8).reshape(len(arr), -1), arr, seed)
    raise TypeError(f"unit ids of dtype {arr.dtype} cannot be hashed")


class _NotAscii(Exception):
    pass


class _Ragged(Exception):
    pass


def _hash_strings(mat: np.ndarray, arr: np.ndarray, seed: int) -> np.ndarray:
    """``mat``: one row per id, uint8 bytes (S) or uint32 code points (U, must be ASCII)."""
    n, width = mat.shape
    out = np.empty(n, dtype=np.uint32)
    try:  # first guess: every id fills the width (uuids), checked chunk by chunk
        _hash_group(mat, slice(0, n), n, width, seed, out, full=True)
        return out
    except _Ragged:
        pass
    lengths = np.char.str_len(arr)
    counts = np.bincount(lengths)
    present = np.flatnonzero(counts)
    order = None if len(present) == 1 else np.argsort(lengths, kind="stable")
    begin = 0
    for length in (int(x) for x in present):
        count = int(counts[length])
        idx = slice(begin, begin + count) if order is None else order[begin : begin + count]
        begin += count
        _hash_group(mat, idx, count, length, seed, out)
    return out


def _hash_group(mat: np.ndarray, idx: slice | np.ndarray, count: int, length: int, seed: int,
                out: np.ndarray, full: bool = False) -> None:
    """Hash the ids ``mat[idx]``, all ``length`` bytes long, into ``out[idx]``; with
    ``full``, raise :class:`_Ragged` on meeting an id shorter than the width."""
    src = mat[idx]  # a view for a slice, this length's rows otherwise
    tmp = None if mat.dtype == np.uint8 else np.empty((min(_CHUNK, count), length), np.uint8)

    def rows(a: int, b: int) -> np.ndarray:
        part = src[a:b, :length]
        if full and length and not part[:, -1].all():
            raise _Ragged
        if tmp is None:  # bytes: read in place
            return part if isinstance(idx, slice) else np.ascontiguousarray(part)
        if part.size and int(np.bitwise_or.reduce(part, axis=None)) >= 128:
            raise _NotAscii
        tmp[: b - a] = part  # the cast of ASCII code points to bytes
        return tmp[: b - a]

    if isinstance(idx, slice):
        _hash_rows(rows, count, length, seed, out[idx])
    else:
        out[idx] = _hash_rows(rows, count, length, seed, np.empty(count, dtype=np.uint32))


def _hash_rows(rows, n: int, length: int, seed: int, out: np.ndarray) -> np.ndarray:
    """XXH32 of n ids of ``length`` bytes into ``out``; ``rows(a, b)`` gives the
    bytes of ids a..b as a uint8 matrix whose rows are contiguous."""
    kernel = _Kernel(min(n, _CHUNK))
    with np.errstate(over="ignore"):
        for a in range(0, n, _CHUNK):
            b = min(a + _CHUNK, n)
            out[a:b] = kernel.xxh32(rows(a, b), length, np.uint32(seed))
    return out


class _Kernel:
    """XXH32 over a chunk of equal-length byte rows, with in-place numpy ops."""

    def __init__(self, size: int) -> None:
        self.tmp = np.empty(size, dtype=np.uint32)
        self.acc = np.empty(size, dtype=np.uint32)
        self.h = np.empty(size, dtype=np.uint32)

    def _rotl(self, x: np.ndarray, r: int) -> None:
        left, right = _SHIFTS[r]
        t = self.tmp[: len(x)]
        np.right_shift(x, right, out=t)
        np.left_shift(x, left, out=x)
        np.bitwise_or(x, t, out=x)

    def xxh32(self, raw: np.ndarray, length: int, seed: np.uint32) -> np.ndarray:
        n = raw.shape[0]
        h, acc, pos = self.h[:n], self.acc[:n], 0

        def word(offset: int) -> np.ndarray:  # little-endian u32 at a byte offset
            return raw[:, offset : offset + 4].view("<u4")[:, 0]

        if length >= 16:
            lanes = [np.full(n, seed + Q1 + Q2), np.full(n, seed + Q2),
                     np.full(n, seed, dtype=np.uint32), np.full(n, seed - Q1)]
            while pos + 16 <= length:
                for i, v in enumerate(lanes):
                    np.multiply(word(pos + 4 * i), Q2, out=acc)
                    v += acc
                    self._rotl(v, 13)
                    v *= Q1
                pos += 16
            h[:] = 0
            for v, r in zip(lanes, (1, 7, 12, 18)):
                self._rotl(v, r)
                h += v
        else:
            h[:] = seed + Q5
        h += np.uint32(length)
        while pos + 4 <= length:
            np.multiply(word(pos), Q3, out=acc)
            h += acc
            self._rotl(h, 17)
            h *= Q4
            pos += 4
        while pos < length:
            acc[:] = raw[:, pos]
            acc *= Q5
            h += acc
            self._rotl(h, 11)
            h *= Q1
            pos += 1
        t = self.tmp[:n]
        for shift, prime in ((15, Q2), (13, Q3), (16, None)):
            np.right_shift(h, np.uint32(shift), out=t)
            h ^= t
            if prime is not None:
                h *= prime
        return h
