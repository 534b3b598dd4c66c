"""URLs made outside the server are served by it: `vitrina url` (plain, --expires,
--srcset), the SDK's image_url/srcset, and every example of the README's Image URLs
table with the result the README states."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.api.test_images_setup import KEYS, ImageClient, Library, build_library, decode, serve
from vitrina.cli import main
from vitrina.client import Client

README = Path(__file__).resolve().parents[2] / "README.md"
ROCKET = "rocket.jpg"
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WebP": "image/webp", "AVIF": "image/avif"}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return build_library(tmp_path_factory.mktemp("images-cli"), [ROCKET, "coffee.png"])


@pytest.fixture(scope="module")
def client(library: Library) -> Iterator[ImageClient]:
    with serve(library) as c:
        yield c


def _vitrina_url(library: Library, *args: str, **overrides: object) -> str:
    result = CliRunner().invoke(main, ["url", *args], obj=library.settings(**overrides))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_vitrina_url_prints_a_path_the_server_serves(client: ImageClient, library: Library) -> None:
    asset = library.ids[ROCKET]
    path = _vitrina_url(library, asset, "h_150,w_200,c_fill")
    assert re.fullmatch(rf"/img/k1\.[\w-]{{43}}/c_fill,h_150,w_200/{asset}", path)
    r = client.get(path)
    assert r.status_code == 200 and (decode(r.content).width, decode(r.content).height) == (
        200,
        150,
    )
    assert _vitrina_url(library, asset, "w_200", public_base_url="https://media.example.com/") == (
        "https://media.example.com" + client.signer.url(asset, "w_200")
    )


def test_vitrina_url_expires(client: ImageClient, library: Library) -> None:
    asset = library.ids[ROCKET]
    path = _vitrina_url(library, asset, "w_120", "--expires", "600")
    key_id, expires, _ = path.split("/")[2].split(".")
    assert key_id == "k1" and abs(int(expires) - (time.time() + 600)) < 30
    assert client.get(path).status_code == 200


def test_vitrina_url_srcset(client: ImageClient, library: Library) -> None:
    asset = library.ids[ROCKET]
    srcset = _vitrina_url(library, asset, "w_400,h_300,c_fill", "--srcset", "320,640")
    items = [item.split(" ") for item in srcset.split(", ")]
    assert [w for _, w in items] == ["320w", "640w"]
    for (path, _), (width, height) in zip(items, [(320, 240), (640, 480)], strict=True):
        image = decode(client.get(path).content)
        assert (image.width, image.height) == (width, height)  # the 4:3 shape is kept


def test_vitrina_url_refuses_bad_input(library: Library) -> None:
    runner = CliRunner()
    bad_op = runner.invoke(main, ["url", library.ids[ROCKET], "zz_1"], obj=library.settings())
    assert bad_op.exit_code == 1 and "invalid_op" in bad_op.output
    bad_widths = runner.invoke(main, ["url", library.ids[ROCKET], "w_1", "--srcset", "a,b"],
                               obj=library.settings())  # fmt: skip
    assert bad_widths.exit_code == 2
    dev = _vitrina_url(library, library.ids[ROCKET], "w_64", dev=True, signing={"keys": {},
                       "key_id": ""})  # fmt: skip
    assert dev == f"/img/_/w_64/{library.ids[ROCKET]}"


def test_sdk_signs_urls_the_server_serves(client: ImageClient, library: Library) -> None:
    asset = library.ids[ROCKET]
    sdk = Client("http://media.test", signing_keys=KEYS, signing_key_id="k2")
    url = sdk.image_url(asset, "w_300,h_200,c_fill,f_webp")
    assert url.startswith("http://media.test/img/k2.")
    r = client.get(url.removeprefix("http://media.test"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    srcset = sdk.srcset(asset, "w_300,f_webp", [150, 300], expires_in=60)
    for item, width in zip(srcset.split(", "), (150, 300), strict=True):
        path = item.split(" ")[0].removeprefix("http://media.test")
        assert decode(client.get(path).content).width == width
    assert (
        Client("http://media.test").image_url(asset, "w_10")
        == f"http://media.test/img/_/w_10/{asset}"
    )
    with pytest.raises(ValueError, match="invalid_op"):
        sdk.image_url(asset, "zz_1")


def _readme_rows() -> list[tuple[str, tuple[int, int], str]]:
    text = README.read_text()
    table = text.split("<!-- image-ops -->")[1].split("<!-- /image-ops -->")[0]
    rows = []
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        example, result = cells[1].strip("`"), cells[2]
        size, fmt = result.split(" ")
        width, height = (int(v) for v in size.split("x"))
        rows.append((example, (width, height), FORMATS[fmt]))
    return rows


README_ROWS = _readme_rows()


@pytest.mark.parametrize("ops, size, mime", README_ROWS, ids=[r[0] for r in README_ROWS])
def test_readme_examples(
    client: ImageClient, library: Library, ops: str, size: tuple[int, int], mime: str
) -> None:
    ops = ops.replace("LOGO", library.ids["coffee.png"])
    r = client.get(client.url(ROCKET, ops))
    assert r.status_code == 200, r.text
    image = decode(r.content)
    assert (r.headers["content-type"], (image.width, image.height)) == (mime, size)
