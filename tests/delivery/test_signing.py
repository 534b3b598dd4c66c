"""Signed image URLs: round trip, every tampering refused with its code, key rotation,
expiry, and path tricks refused before anything is parsed."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vitrina.delivery import InvalidPath, SignatureError, Signer, canonical, parse_ops, parse_path
from vitrina.errors import ConfigError, InvalidInput, NotFound

A = "0123456789abcdef0123456789abcdef"
B = "fedcba9876543210fedcba9876543210"
K1 = b"k1-secret-0123456789abcdef-0123456789"
K2 = b"k2-secret-abcdef0123456789-abcdef0123"
NOW = 1_750_000_000


def verify(signer: Signer, path: str, now: float = NOW) -> None:
    sig, ops, asset = parse_path(path)
    signer.verify(sig, f"{ops}/{asset}", now)


def refused(signer: Signer, path: str, now: float = NOW) -> str:
    with pytest.raises(SignatureError) as info:
        verify(signer, path, now)
    assert info.value.status == 403
    return info.value.code


def test_round_trip_signs_the_canonical_form() -> None:
    signer = Signer({"k1": K1})
    path = signer.url(A, "h_300,w_400,c_fill,g_se,f_jpeg")
    sig, ops, asset = parse_path(path)
    assert (
        ops
        == canonical(parse_ops("w_400,h_300,c_fill,g_south_east,f_jpg"))
        == "c_fill,f_jpg,g_south_east,h_300,w_400"
    )
    assert asset == A and sig.startswith("k1.") and len(sig.split(".")[-1]) == 43
    verify(signer, path)
    assert signer.sign_path(f"w_400,c_fill,h_300,g_se,f_jpg/{A}") == path
    assert parse_path(signer.url(A)).ops == "-"
    verify(signer, signer.url(A))


def test_tampering_is_refused() -> None:
    signer = Signer({"k1": K1})
    path = signer.url(A, "w_400,h_300")
    sig, ops, asset = parse_path(path)
    mac = sig.split(".")[1]
    flipped = mac[:10] + ("A" if mac[10] != "A" else "B") + mac[11:]
    cases = {
        "ops": f"/img/{sig}/h_300,w_4000/{asset}",
        "ops order": f"/img/{sig}/w_400,h_300/{asset}",  # same ops, not the signed text
        "asset": f"/img/{sig}/{ops}/{B}",
        "mac": f"/img/k1.{flipped}/{ops}/{asset}",
        "short mac": f"/img/k1.{mac[:-1]}/{ops}/{asset}",
        "no mac": f"/img/k1./{ops}/{asset}",
        "added expiry": f"/img/k1.{NOW + 99}.{mac}/{ops}/{asset}",
        "garbage": f"/img/abc/{ops}/{asset}",
    }
    for name, bad in cases.items():
        assert refused(signer, bad) == "bad_signature", name


def test_expiry() -> None:
    signer = Signer({"k1": K1})
    path = signer.url(A, "w_100", expires=NOW + 60)
    sig = parse_path(path).signature
    assert sig.split(".")[1] == str(NOW + 60)
    verify(signer, path, now=NOW + 59)
    assert refused(signer, path, now=NOW + 60) == "expired_url"
    # moving the expiry forward breaks the signature
    longer = path.replace(str(NOW + 60), str(NOW + 6000))
    assert refused(signer, longer, now=NOW + 61) == "bad_signature"


def test_key_rotation() -> None:
    old = Signer({"k1": K1})
    old_url = old.url(A, "w_200")
    rotated = Signer({"k1": K1, "k2": K2}, current_key_id="k2")
    new_url = rotated.url(A, "w_200")
    assert parse_path(new_url).signature.startswith("k2.")
    verify(rotated, old_url)  # old key still listed: old URLs still work
    verify(rotated, new_url)
    retired = Signer({"k2": K2})
    assert refused(retired, old_url) == "unknown_key"
    verify(retired, new_url)
    # a URL re-labelled with another key id does not verify
    relabelled = new_url.replace("/img/k2.", "/img/k1.")
    assert refused(rotated, relabelled) == "bad_signature"


def test_unsigned_only_where_allowed() -> None:
    path = f"/img/_/w_100/{A}"
    assert refused(Signer({"k1": K1}), path) == "signature_required"
    verify(Signer({"k1": K1}, allow_unsigned=True), path)
    dev = Signer({}, allow_unsigned=True)
    assert dev.url(A, "w_100") == path
    verify(dev, path)


def test_bad_key_configuration_refuses_to_start() -> None:
    for keys, current in (
        ({}, None),
        ({"k1": b"short"}, None),
        ({"k.1": K1}, None),
        ({"k1": K1}, "k9"),
    ):
        with pytest.raises(ConfigError):
            Signer(keys, current)


def test_srcset() -> None:
    signer = Signer({"k1": K1})
    srcset = signer.srcset(A, "w_400,h_300,c_fill", [640, 320, 640])
    items = [item.split(" ") for item in srcset.split(", ")]
    assert [d for _, d in items] == ["320w", "640w"]
    for url, d in items:
        verify(signer, url)
        ops = parse_ops(parse_path(url).ops)
        assert (
            ops.w == int(d[:-1]) and ops.h is None and ops.ar == Fraction(4, 3) and ops.c == "fill"
        )
    with pytest.raises(InvalidInput):
        signer.srcset(A, "w_1", [0])


@pytest.mark.parametrize(
    "path, error",
    [
        (f"/img/_/w_100/{A}/extra", NotFound),
        (f"/img/_/{A}", NotFound),
        (f"/image/_/w_100/{A}", NotFound),
        (f"/img/_/w_100/{A[:-1]}", NotFound),
        (f"/img/_/w_100/{A.upper()}", NotFound),
        (f"/img/_/w_100%2F..%2F/{A}", InvalidPath),
        (f"/img/_/w_100%2f{A}", InvalidPath),
        (f"/img/_/../{A}", InvalidPath),
        ("/img/_/w_100/..", InvalidPath),
        (f"/img/_//w_100/{A}", InvalidPath),
        (f"/img/_/w_100\\..\\/{A}", InvalidPath),
        (f"/img/_/w 100/{A}", InvalidPath),
        (f"/img/_/w_100/{A}?x=1", InvalidPath),
        (f"/img/_/w_100;rm/{A}", InvalidPath),
        (f"/img//w_100/{A}", InvalidPath),
        (f"/img/_/w_100/{A}\n", InvalidPath),
    ],
)
def test_path_tricks_are_refused(path: str, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        parse_path(path)
    assert info.value.status == (404 if error is NotFound else 400)


def test_parse_path_splits() -> None:
    assert tuple(parse_path(f"/img/k1.abc/w_1,h_2/{A}")) == ("k1.abc", "w_1,h_2", A)
