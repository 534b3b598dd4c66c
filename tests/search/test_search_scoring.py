"""The scorers on their own: terms, BM25F, colour distance, and the query's checks."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.errors import InvalidInput
from vitrina.search import colour, keyword
from vitrina.search.query import parse_query


def test_terms_fold_case_width_and_plurals() -> None:
    assert keyword.terms("Espresso CUPS, boxes & Cafés!") == ["espresso", "cup", "box", "café"]
    assert keyword.terms("ＣＯＦＦＥＥ") == ["coffee"]  # NFKC: full-width letters
    assert keyword.terms("glass bus ponies") == ["glass", "bus", "pony"]
    assert keyword.terms("snake_case-word 3d") == ["snake", "case", "word", "3d"]
    assert keyword.query_terms("cup cups Cup") == ["cup"]
    assert keyword.terms(None) == []


def _doc(id_: str, **fields: str) -> keyword.Document:
    return keyword.Document.of(id_, {k: [v] for k, v in fields.items()})


def test_bm25f_weights_fields_and_rare_terms() -> None:
    docs = [_doc("title", title="red rocket"), _doc("ocr", ocr="red rocket"), _doc("other", ocr="red"),
            _doc("none", alt_text="blue")]
    hits = keyword.score(docs, keyword.query_terms("rocket"))
    assert [h.id for h in hits] == ["title", "ocr"]  # a title counts more than OCR text
    assert hits[0].matched == (("title", "rocket"),)
    hits = keyword.score(docs, keyword.query_terms("red rocket"))
    assert [h.id for h in hits] == ["title", "ocr", "other"]
    # a rare term is worth more than a common one
    rare = keyword.score(docs, ["rocket"])[1].score
    common = keyword.score(docs, ["red"])[1].score
    assert rare > common
    assert keyword.score(docs, []) == [] and keyword.score([], ["x"]) == []


def test_bm25f_saturates_and_prefers_short_fields() -> None:
    docs = [_doc("once", ocr="cat " + "word " * 3), _doc("many", ocr="cat " * 20 + "word " * 3),
            _doc("long", ocr="cat " + "word " * 200), _doc("x", ocr="dog")]
    by_id = {h.id: h.score for h in keyword.score(docs, ["cat"])}
    assert by_id["many"] > by_id["once"] > by_id["long"]
    assert by_id["many"] < 3 * by_id["once"]  # term frequency saturates (k1)


def test_colour_parsing_and_distance() -> None:
    assert colour.parse_hex("#C0FFEE") == "#c0ffee"
    assert colour.parse_hex("c0ffee") == "#c0ffee"
    assert colour.parse_hex("#cf0") == "#ccff00"
    for bad in ("red", "#12345", "#1234567", "", "#ggg", "# c0ffee"):
        with pytest.raises(InvalidInput) as caught:
            colour.parse_hex(bad)
        assert caught.value.code == "invalid_color"
    white, black = colour.lab_of("#ffffff"), colour.lab_of("#000000")
    assert colour.delta_e(white, black) == pytest.approx(100, abs=0.01)
    assert colour.delta_e(white, white) == 0


def test_colour_match_weights_fractions() -> None:
    target = colour.lab_of("#ff0000")
    mostly_red = {"colors": [{"hex": "#fe0101", "fraction": 0.8}, {"hex": "#0000ff", "fraction": 0.2}]}
    a_little = {"colors": [{"hex": "#ff0000", "fraction": 0.1}, {"hex": "#00ff00", "fraction": 0.9}]}
    m, n = colour.match(target, mostly_red), colour.match(target, a_little)
    assert m.score > n.score and m.hex == "#fe0101" and m.fraction == 0.8 and m.delta_e < 1
    assert n.hex == "#ff0000" and n.delta_e == 0 and n.score == pytest.approx(0.1)
    assert colour.match(target, {"colors": [{"hex": "#0000ff", "fraction": 1.0}]}) is None
    assert colour.match(target, None) is None
    assert colour.match(target, {"colors": [{"hex": "oops", "fraction": 1}]}) is None
    assert colour.match(target, {"colors": "nonsense"}) is None


def test_queries_are_checked() -> None:
    q = parse_query(q="  red rocket ", color="F00", created_after="2026-12-01", limit=5)
    assert q.q == "red rocket" and q.color == "#ff0000" and q.filters.created_after.isoformat() == "2026-12-01T00:00:00+00:00"
    assert parse_query(created_before="2026-12-01T10:00:00+02:00").filters.created_before.hour == 8
    assert parse_query(tag="  Cats ").filters.tag == "cats"
    for kwargs, code in (({"q": "x" * 501}, "query_too_long"), ({"color": "#xyz"}, "invalid_color"),
                         ({"color": "#fff", "color_tolerance": 0.5}, "invalid_color"),
                         ({"created_after": "soon"}, "invalid_date"), ({"created_after": "0001-01-01"}, "invalid_date"),
                         ({"min_height": 10, "max_height": 5}, "invalid_range"), ({"limit": 0}, "invalid_limit"),
                         ({"limit": 101}, "invalid_limit"), ({"cursor": "@@@"}, "invalid_cursor")):
        with pytest.raises(InvalidInput) as caught:
            parse_query(**kwargs)
        assert caught.value.code == code, kwargs


def test_a_cursor_is_bound_to_its_query() -> None:
    from vitrina.search.query import encode_cursor as _encode_cursor

    q = parse_query(q="rocket")
    cursor = _encode_cursor(20, q.fingerprint())
    assert parse_query(q="rocket", cursor=cursor).offset == 20
    with pytest.raises(InvalidInput):
        parse_query(q="rockets", cursor=cursor)
    with pytest.raises(InvalidInput):
        parse_query(q="rocket", cursor=_encode_cursor(10**9, q.fingerprint()))


def test_vectors_of_signals() -> None:
    from vitrina.search.live import vector_of
    from vitrina.search.vectors import encode_vector

    v = np.arange(1, 5, dtype=np.float32)
    assert np.array_equal(vector_of({"embedding": encode_vector(v)}), v)
    assert vector_of({"embedding": None}) is None
    assert vector_of({"embedding": encode_vector(np.zeros(4))}) is None
    assert vector_of({"embedding": {"dim": 3, "dtype": "float32", "data": "AAAA"}}) is None
    assert vector_of(None) is None and vector_of({}) is None


def test_many_palettes_match_as_one_does() -> None:
    rng = np.random.default_rng(0)
    signals = {f"a{i}": {"colors": [{"hex": "#" + bytes(rng.integers(0, 256, 3).tolist()).hex(),
                                     "fraction": round(float(f), 4)} for f in rng.dirichlet(np.ones(5))]}
               for i in range(200)}
    signals["none"], signals["bad"] = None, {"colors": [{"hex": "nope"}]}
    target = colour.lab_of("#a0522d")
    many = colour.match_many(target, colour.palettes(signals.items()), 30)
    one = {i: m for i, s in signals.items() if (m := colour.match(target, s, 30)) is not None}
    assert many.keys() == one.keys() and len(one) > 20
    for i, m in one.items():
        assert many[i].hex == m.hex and many[i].fraction == m.fraction
        assert many[i].score == pytest.approx(m.score) and many[i].delta_e == pytest.approx(m.delta_e)
