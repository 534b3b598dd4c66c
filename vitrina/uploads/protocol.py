"""tus 1.0 on the wire: the headers, parsed and checked, and the errors the protocol names.

Pure functions over header values; nothing here touches the catalog or the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from vitrina.errors import InvalidInput, VitrinaError

TUS_VERSION = "1.0.0"
EXTENSIONS = ("creation", "creation-with-upload", "termination", "expiration", "checksum")
#: Upload-Checksum algorithms, by their tus name
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
CHUNK_TYPE = "application/offset+octet-stream"
#: most Upload-Metadata pairs and the longest decoded value
MAX_METADATA_PAIRS, MAX_METADATA_VALUE = 32, 1024


class VersionUnsupported(VitrinaError):
    status, code = 412, "tus_version_unsupported"


class OffsetMismatch(VitrinaError):
    status, code = 409, "upload_offset_mismatch"


class UploadGone(VitrinaError):
    status, code = 410, "upload_expired"


class ChecksumMismatch(VitrinaError):
    status, code = 460, "checksum_mismatch"


class WrongChunkType(VitrinaError):
    status, code = 415, "unsupported_media_type"


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    def hasher(self) -> hashlib._Hash:
        return CHECKSUMS[self.algorithm]()


def check_version(value: str | None) -> None:
    if value != TUS_VERSION:
        raise VersionUnsupported(f"Tus-Resumable must be {TUS_VERSION}",
                                 details={"supported": [TUS_VERSION], "got": value})


def non_negative(name: str, value: str | None, *, required: bool = True) -> int | None:
    """The integer header ``name`` (``None`` when absent and not required)."""
    if value is None:
        if required:
            raise InvalidInput(f"{name} is required", code="invalid_tus_header", details={"header": name})
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidInput(f"{name} must be a non-negative integer", code="invalid_tus_header",
                           details={"header": name})
    return int(value)


def parse_metadata(value: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (the value may be
    absent); values must be UTF-8 text without NUL characters."""
    if value is None or not value.strip():
        return {}
    out: dict[str, str] = {}
    pairs = value.split(",")
    if len(pairs) > MAX_METADATA_PAIRS:
        raise _bad_metadata(f"at most {MAX_METADATA_PAIRS} pairs")
    for pair in pairs:
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not parts[0] or not parts[0].isascii() or not parts[0].isprintable():
            raise _bad_metadata("each pair is a key, a space and a base64 value")
        key = parts[0]
        if key in out:
            raise _bad_metadata(f"the key {key!r} appears twice")
        try:
            raw = base64.b64decode(parts[1], validate=True) if len(parts) == 2 else b""
            text = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            raise _bad_metadata(f"the value of {key!r} is not base64 of UTF-8 text") from None
        if len(text) > MAX_METADATA_VALUE or "\x00" in text:
            raise _bad_metadata(f"the value of {key!r} is too long or holds a NUL character")
        out[key] = text
    return out


def format_metadata(meta: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" if v else k for k, v in meta.items())


def parse_checksum(value: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; an unknown algorithm is a 400."""
    if value is None:
        return None
    parts = value.strip().split(" ")
    if len(parts) != 2:
        raise InvalidInput("Upload-Checksum is '<algorithm> <base64 digest>'", code="invalid_checksum")
    algorithm, encoded = parts[0].lower(), parts[1]
    if algorithm not in CHECKSUMS:
        raise InvalidInput(f"unsupported checksum algorithm {parts[0]!r}", code="checksum_algorithm_unsupported",
                           details={"supported": sorted(CHECKSUMS)})
    try:
        digest = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise InvalidInput("the Upload-Checksum digest is not base64", code="invalid_checksum") from None
    if len(digest) != CHECKSUMS[algorithm]().digest_size:
        raise InvalidInput("the Upload-Checksum digest has the wrong length", code="invalid_checksum")
    return Checksum(algorithm, digest)


def check_chunk_type(content_type: str | None) -> None:
    if (content_type or "").split(";")[0].strip().lower() != CHUNK_TYPE:
        raise WrongChunkType(f"a chunk's Content-Type must be {CHUNK_TYPE}")


def http_date(when: datetime) -> str:
    """RFC 9110 date, as ``Upload-Expires`` carries it."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def common_headers() -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}


def _bad_metadata(why: str) -> InvalidInput:
    return InvalidInput(f"Upload-Metadata is malformed: {why}", code="invalid_upload_metadata")
