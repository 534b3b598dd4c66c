"""Fuzz of the URL grammar: any text parses or is refused as invalid ops (a 400), and
the canonical form is a fixed point."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitrina.delivery.errors import InvalidOps
from vitrina.delivery.grammar import canonical, parse_ops

NAMES = ["w", "h", "c", "g", "q", "f", "dpr", "r", "bg", "b", "sharpen", "fit", "l", "x", "y", "pr", "e", "o"]
VALUES = st.one_of(st.integers(-5, 5000).map(str), st.sampled_from(
    ["auto", "fill", "fit", "crop", "face", "webp", "jpeg", "avif", "ffffff", "0.5", "1e999", "nan", "-",
     "", "north", "1.5", "x", "90"]), st.text(max_size=6))
TOKEN = st.builds(lambda n, v: f"{n}_{v}", st.sampled_from(NAMES), VALUES)
OPS = st.one_of(st.lists(TOKEN, max_size=6).map(",".join), st.text(max_size=40))
BOUNDED = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@BOUNDED
@given(OPS)
def test_parse_refuses_only_with_invalid_ops(text):
    try:
        ops = parse_ops(text)
    except InvalidOps as exc:  # OpOutOfRange is one
        assert 400 <= exc.status < 500 and exc.code and exc.message
        return
    once = canonical(ops)
    assert canonical(parse_ops(once)) == once
    assert parse_ops(once) == ops
