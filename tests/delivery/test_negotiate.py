"""Format choice: explicit f_, f_auto by Accept (with Vary), or the source's family."""

from __future__ import annotations

import pytest

from vitrina.delivery import choose_format, parse_ops

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
OLD_SAFARI = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
CURL = "*/*"


@pytest.mark.parametrize(
    "ops, accept, alpha, source, expected",
    [
        ("f_auto", CHROME, False, "jpeg", ("avif", True)),
        ("f_auto", OLD_SAFARI, False, "jpeg", ("webp", True)),
        ("f_auto", CURL, False, "png", ("jpeg", True)),
        ("f_auto", CURL, True, "png", ("png", True)),
        ("f_auto", None, False, None, ("jpeg", True)),
        ("f_auto", "image/avif;q=0, image/webp", False, "jpeg", ("webp", True)),
        ("f_auto", "image/avif;q=0.0,image/webp;q=0", True, "png", ("png", True)),
        ("f_auto", "IMAGE/AVIF", False, "jpeg", ("avif", True)),
        ("f_auto", "image/avif;q=bogus,image/webp", False, "jpeg", ("webp", True)),
        ("f_webp", CURL, False, "jpeg", ("webp", False)),
        ("f_jpeg", CHROME, True, "png", ("jpeg", False)),
        ("w_10", CHROME, False, "jpeg", ("jpeg", False)),
        ("w_10", CHROME, True, "png", ("png", False)),
        ("w_10", CHROME, False, "webp", ("webp", False)),
        ("w_10", CHROME, False, "gif", ("png", False)),
        ("w_10", CHROME, True, "heic", ("png", False)),
        ("w_10", CHROME, False, "tiff", ("jpeg", False)),
    ],
)
def test_choose_format(
    ops: str, accept: str | None, alpha: bool, source: str | None, expected: tuple[str, bool]
) -> None:
    assert choose_format(parse_ops(ops), accept, alpha, source) == expected
