"""Key validation, content-addressed keys, the store registry and open_store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vitrina.errors import ConfigError, InvalidKey
from vitrina.storage.blobs import content_key, open_store, validate_key
from vitrina.storage.blobs.local import LocalBlobStore
from vitrina.testing import make_registries

STORES = make_registries().stores

SHA = hashlib.sha256(b"vitrina").hexdigest()


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "originals/ab/cd/" + SHA,
        "derivatives/x_y-z.v2/f.webp",
        "a.b/c..d/...e",  # dots inside segments are fine
        "A-Z_09",
        "k" * 1024,
    ],
)
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert validate_key(key) is key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "/a",
        "..",
        ".",
        "../x",
        "a/../../b",
        "a/..",
        "./a",
        "a/./b",
        "a//b",
        "a/",
        "a\\b",
        "..\\x",
        "a\x00b",
        "a\nb",
        "a\tb",
        "a\x7fb",
        "a b",
        "caf\u00e9",
        "a:b",
        "a%2e%2e",
        "k" * 1025,
    ],
    ids=repr,
)
def test_invalid_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        validate_key(key)
    assert caught.value.code == "invalid_key"
    assert caught.value.status == 400


def test_non_string_key_is_refused() -> None:
    with pytest.raises(InvalidKey):
        validate_key(b"abc")  # type: ignore[arg-type]


def test_content_key_shape() -> None:
    assert content_key("originals", SHA) == f"originals/{SHA[:2]}/{SHA[2:4]}/{SHA}"
    assert content_key("derivatives/w400", SHA, ".webp") == (
        f"derivatives/w400/{SHA[:2]}/{SHA[2:4]}/{SHA}.webp"
    )
    assert content_key("originals", "ab" + "c" * 62).startswith("originals/ab/cc/abccc")


@pytest.mark.parametrize(
    "sha",
    [SHA[:63], SHA + "0", SHA.upper(), "g" * 64, "", "../" + SHA[3:], SHA[:62] + "\x00a"],
    ids=repr,
)
def test_content_key_refuses_bad_digests(sha: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        content_key("originals", sha)
    assert caught.value.code == "invalid_key"


@pytest.mark.parametrize(("namespace", "suffix"), [("../up", ""), ("/abs", ""), ("ok", "/../x")])
def test_content_key_validates_the_whole_key(namespace: str, suffix: str) -> None:
    with pytest.raises(InvalidKey):
        content_key(namespace, SHA, suffix)


def test_open_store_plain_path_and_file_url(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "plain"), STORES)
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path / "plain"
    assert (tmp_path / "plain").is_dir()

    target = tmp_path / "with space"
    store = open_store(target.as_uri(), STORES)
    assert isinstance(store, LocalBlobStore) and store.root == target
    store.put_bytes("a/b", b"hello")
    assert (target / "a" / "b").read_bytes() == b"hello"


def test_open_store_relative_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("rel/blobs", STORES)
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path / "rel" / "blobs"


@pytest.mark.parametrize(
    "url", ["file://host/x", "file://relative", "file:///tmp/x?mode=fast", ""], ids=repr
)
def test_open_store_refuses_bad_file_urls(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url, STORES)
    assert caught.value.code == "config_error"


def test_unknown_scheme_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError) as caught:
        open_store("ftp://example/blobs", STORES)
    assert "ftp" in caught.value.message
    assert caught.value.details["scheme"] == "ftp"


@dataclass
class MemTest:
    root: Path
    name: str = "memtest"
    seen: list[str] = field(default_factory=list)

    def open(self, url: str) -> LocalBlobStore:
        self.seen.append(url)
        return LocalBlobStore(self.root / "mem")


def test_store_registry_refuses_duplicates_and_opens_new_schemes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        make_registries(stores=[MemTest(tmp_path, name="file")])
    with pytest.raises(ConfigError):
        make_registries(stores=[MemTest(tmp_path, name="Bad Scheme")])

    memtest = MemTest(tmp_path)
    stores = make_registries(stores=[memtest]).stores
    store = open_store("memtest://anything", stores)
    assert memtest.seen == ["memtest://anything"]
    assert isinstance(store, LocalBlobStore)
    with pytest.raises(ConfigError):
        stores.add(MemTest(tmp_path))
