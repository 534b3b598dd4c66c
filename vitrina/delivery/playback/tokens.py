"""The URL contract of ``/video/{token}/{asset_id}/{path}``: one token for every file of
an asset, so the relative URIs inside HLS playlists resolve under the same token.

The token is ``{key_id}.{expires}.{mac}`` (every part URL-safe): an HMAC-SHA256 made by
:class:`~vitrina.delivery.signing.Signer` with the same keys and rules as image URLs
(decision 011), over the key id, the expiry and ``video`` + the asset id, never over
the file path. ``_`` is the unsigned token, accepted in development mode only.

Plain Python (no libvips, no catalog): the SDK and the CLI sign with it.
"""

from __future__ import annotations

import re

from vitrina.delivery.errors import SignatureError
from vitrina.delivery.paths import UNSIGNED
from vitrina.delivery.signing import Signer
from vitrina.errors import InvalidInput, NotFound
from vitrina.ids import ASSET_ID

PREFIX = "/video/"
#: what a player opens when no file is named: the HLS master playlist
DEFAULT_FILE = "hls/master.m3u8"
#: how long a URL lasts unless its maker says: a day, enough to watch and seek
DEFAULT_LIFETIME = 86_400
MAX_PATH_LENGTH = 200
#: ``name.ext`` segments under single slashes, at most four deep: no '..', no escapes,
#: no absolute or empty parts (the path names a blob key, never a file on disk)
_FILE = re.compile(r"(?:[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}/){0,3}[A-Za-z0-9_-][A-Za-z0-9_-]{0,63}\.[a-z0-9]{1,8}",
                   re.ASCII)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,32}\.\d{1,12}\.[A-Za-z0-9_-]{43}", re.ASCII)

#: the types a player expects, by extension; any other file is not served here
CONTENT_TYPES = {
    "m3u8": "application/vnd.apple.mpegurl",
    "mp4": "video/mp4",
    "m4s": "video/mp4",
    "m4v": "video/mp4",
    "m4a": "audio/mp4",
    "vtt": "text/vtt",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "png": "image/png",
}


def signed_part(asset_id: str) -> str:
    """What a playback token covers. The newline keeps it apart from every image URL's
    ``{ops}/{asset_id}``, which never holds one: no image signature is a video token."""
    return f"video\n{asset_id}"


def playback_token(signer: Signer, asset_id: str, expires: int) -> str:
    """``{key_id}.{expires}.{mac}`` for every file of ``asset_id`` until ``expires``
    (Unix seconds); ``_`` when ``signer`` holds no key (development mode)."""
    if not ASSET_ID.fullmatch(asset_id):
        raise InvalidInput("Not an asset id.", details={"asset_id": asset_id[:64]})
    return signer.signature(signed_part(asset_id), int(expires))


def playback_path(signer: Signer, asset_id: str, file: str = DEFAULT_FILE, *, expires: int) -> str:
    """``/video/{token}/{asset_id}/{file}``; ``file`` is relative to the asset's
    derivatives (``hls/master.m3u8``, ``h720w1280.mp4``, ``storyboard/storyboard.vtt``)."""
    check_file(file, refuse=InvalidInput)
    return f"{PREFIX}{playback_token(signer, asset_id, expires)}/{asset_id}/{file}"


def check_token(token: str) -> None:
    """403 for a token no signer made: playback tokens always carry an expiry."""
    if token != UNSIGNED and not _TOKEN.fullmatch(token):
        raise SignatureError("Malformed playback token: expected {key_id}.{expires}.{mac}.")


def check_file(file: str, refuse: type[InvalidInput | NotFound] = NotFound) -> str:
    """``file`` when it can name one of an asset's files, else ``refuse`` (404
    ``file_not_found`` on the route: a bad path and a missing file answer alike)."""
    if len(file) > MAX_PATH_LENGTH or not _FILE.fullmatch(file) or ".." in file \
            or file.rpartition(".")[2] not in CONTENT_TYPES:
        raise refuse("No such file for this video.", code="file_not_found",
                     details={"path": file[:MAX_PATH_LENGTH]})
    return file


def content_type(file: str) -> str:
    return CONTENT_TYPES[file.rpartition(".")[2]]
