"""The canonical-form examples in vitrina/delivery/README.md are true."""

from __future__ import annotations

from pathlib import Path

from vitrina.delivery import canonical, parse_ops

README = Path(__file__).resolve().parents[2] / "vitrina" / "delivery" / "README.md"


def test_readme_examples() -> None:
    text = README.read_text()
    block = text.split("<!-- examples -->")[1].split("<!-- /examples -->")[0]
    pairs = [line.split("->") for line in block.splitlines() if "->" in line]
    assert len(pairs) >= 10
    for given, expected in pairs:
        assert canonical(parse_ops(given.strip())) == expected.strip(), given
