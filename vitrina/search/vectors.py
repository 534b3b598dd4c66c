"""Checks every index applies to ids and vectors before they reach a library.

A library handed a wrong-size or NaN vector may crash the process or silently store
garbage, so each input is checked here first and refused with a 400-class error
that says what was wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from vitrina.errors import InvalidInput, NotFound, VitrinaError

#: ``cosine``: vectors are normalised on the way in; ``dot``: raw inner product.
METRICS = ("cosine", "dot")
MAX_DIM = 65_536
MAX_ID_LENGTH = 255
MAX_K = 10_000


class UnknownVectorId(NotFound):
    code = "unknown_vector_id"


class IndexUnreadable(VitrinaError):
    """Stored index bytes that cannot be read back (truncated, another format, another
    library version); the caller rebuilds the index from the catalogue."""

    status, code, report = 500, "index_unreadable", True


def check_shape(dim: int, metric: str) -> None:
    if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= MAX_DIM:
        raise InvalidInput(f"A vector index needs a dimension from 1 to {MAX_DIM}.",
                           details={"dim": repr(dim)})
    if metric not in METRICS:
        raise InvalidInput(f"Unknown metric {metric!r}; known: {', '.join(METRICS)}.",
                           details={"metric": repr(metric)})


def check_ids(ids: Sequence[str]) -> list[str]:
    if isinstance(ids, str) or not isinstance(ids, Sequence):
        raise InvalidInput("Vector ids must be a list of strings.",
                           details={"type": type(ids).__name__})
    out = list(ids)
    for id_ in out:
        if not isinstance(id_, str) or not 1 <= len(id_) <= MAX_ID_LENGTH:
            raise InvalidInput(f"A vector id must be a string of 1 to {MAX_ID_LENGTH} characters.",
                               details={"id": repr(id_)[:100]})
    if len(set(out)) != len(out):
        raise InvalidInput("Vector ids must not repeat within one call.",
                           details={"ids": len(out), "distinct": len(set(out))})
    return out


def check_vectors(vectors: Any, dim: int, metric: str, *, rows: int) -> np.ndarray:
    """``rows`` vectors as a C-contiguous float32 array of shape ``(rows, dim)``,
    normalised for the cosine metric."""
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("Vectors must be numbers.", details={"error": str(exc)[:200]}) from None
    if array.ndim == 1 and rows == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape != (rows, dim):
        raise InvalidInput(
            f"Expected {rows} vector(s) of dimension {dim}, got an array of shape {array.shape}.",
            code="wrong_vector_dimension",
            details={"expected": [rows, dim], "got": list(array.shape)},
        )
    finite = np.isfinite(array).all(axis=1)
    if not finite.all():
        raise InvalidInput("Vectors must not hold NaN or infinite values.", code="vector_not_finite",
                           details={"rows": np.flatnonzero(~finite)[:10].tolist()})
    if metric == "cosine":
        norms = np.linalg.norm(array, axis=1)
        if (norms == 0).any() or not np.isfinite(norms).all():
            raise InvalidInput("A zero vector has no direction to compare by cosine.",
                               code="vector_zero",
                               details={"rows": np.flatnonzero(norms == 0)[:10].tolist()})
        array = array / norms[:, None]
    return np.ascontiguousarray(array, dtype=np.float32)


def check_batch(ids: Sequence[str], vectors: Any, dim: int,
                metric: str) -> tuple[list[str], np.ndarray]:
    """The ids and vectors of one ``add``: distinct ids, one checked vector each."""
    ids = check_ids(ids)
    return ids, check_vectors(vectors, dim, metric, rows=len(ids))


def check_query(vector: Any, k: int, dim: int, metric: str,
                exclude: Collection[str] | None) -> tuple[np.ndarray, frozenset[str]]:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be an integer from 1 to {MAX_K}.", details={"k": repr(k)})
    if exclude is not None and (isinstance(exclude, str) or not isinstance(exclude, Collection)):
        raise InvalidInput("exclude must be a collection of ids.",
                           details={"type": type(exclude).__name__})
    return check_vectors(vector, dim, metric, rows=1)[0], frozenset(exclude or ())


def check_known(ids: list[str], known: Collection[str]) -> None:
    missing = [id_ for id_ in ids if id_ not in known]
    if missing:
        raise UnknownVectorId(f"{len(missing)} id(s) are not in the index, e.g. {missing[0]!r}.",
                              details={"ids": missing[:10]})


# --- vectors inside signals ---------------------------------------------------------
#: an embedding inside a signal's JSON value: {"dim": 1280, "dtype": "float32",
#: "data": base64 of the little-endian bytes}; JSON lists of floats would be 3x larger
_DTYPES = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2")}


def encode_vector(vector: Any, dtype: str = "float32") -> dict[str, Any]:
    """A 1-d vector as the JSON-able form signals store."""
    import base64

    array = np.asarray(vector, dtype=_DTYPES[dtype]).reshape(-1)
    return {"dim": int(array.shape[0]), "dtype": dtype,
            "data": base64.b64encode(array.tobytes()).decode("ascii")}


def decode_vector(value: Any) -> np.ndarray:
    """The float32 vector of :func:`encode_vector`'s output; InvalidInput if malformed."""
    import base64
    import binascii

    try:
        dtype, dim = _DTYPES[value["dtype"]], int(value["dim"])
        array = np.frombuffer(base64.b64decode(value["data"], validate=True), dtype=dtype)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise InvalidInput("A stored vector is malformed.", code="vector_malformed") from None
    if array.shape != (dim,):
        raise InvalidInput("A stored vector's length does not match its dim.", code="vector_malformed",
                           details={"dim": dim, "got": int(array.shape[0])})
    return array.astype(np.float32)
