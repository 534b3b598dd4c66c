"""A blob store in an S3-compatible bucket (AWS S3, MinIO, Ceph...), through boto3.

boto3 is an optional extra (``vitrina[s3]``) imported only when a store is built.
Credentials come from the standard AWS chain (environment, config files, instance
roles); the URL carries only where to go::

    s3://bucket/optional/prefix?endpoint_url=http://127.0.0.1:9000&region=us-east-1

An S3 PUT (single or multipart) becomes visible only when complete, which gives the
same all-or-nothing guarantee as the local store's rename.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from vitrina.errors import ConfigError, InvalidKey, NotFound, Unavailable
from vitrina.storage.blobs import validate_key, validate_prefix
from vitrina.storage.blobs._io import ChunkIterator, TempFiles, check_range

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_URL_OPTIONS = ("endpoint_url", "region")
_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}
MiB = 1 << 20


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "The s3 blob store needs boto3: install vitrina[s3].", details={"package": "boto3"}
        ) from exc
    return boto3


class S3BlobStore:
    """Blobs as objects ``<prefix>/<key>`` in one bucket."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        multipart_threshold: int = 64 * MiB,
        multipart_chunksize: int = 16 * MiB,
        temp_dir: Path | None = None,
    ) -> None:
        if _BUCKET.fullmatch(bucket) is None:
            raise ConfigError("Not a valid S3 bucket name.", details={"bucket": bucket})
        prefix = prefix.strip("/")
        if prefix:
            try:
                validate_key(prefix)
            except InvalidKey as exc:
                raise ConfigError(
                    f"Not a valid S3 key prefix: {exc.message}", details={"prefix": prefix}
                ) from exc
        if multipart_chunksize < 5 * MiB:
            raise ConfigError(
                "S3 multipart parts must be at least 5 MiB.",
                details={"multipart_chunksize": multipart_chunksize},
            )
        self.bucket = bucket
        self.prefix = prefix
        boto3 = _boto3()
        from boto3.s3.transfer import TransferConfig

        if client is None:
            from botocore.config import Config

            # Path-style addressing works with IP endpoints and every S3 clone.
            config = Config(s3={"addressing_style": "path"}) if endpoint_url else None
            client = boto3.client(
                "s3", endpoint_url=endpoint_url, region_name=region, config=config
            )
        self._client = client
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold, multipart_chunksize=multipart_chunksize
        )
        self._temps = TempFiles(Path(temp_dir or tempfile.gettempdir()), prefix="vitrina-blob-")

    @classmethod
    def from_url(cls, url: str) -> S3BlobStore:
        parts = urlsplit(url)
        if parts.scheme.lower() != "s3" or not parts.netloc:
            raise ConfigError(
                "An S3 blob store URL must look like s3://bucket/prefix.", details={"url": url}
            )
        if parts.fragment:
            raise ConfigError("An S3 blob store URL takes no fragment.", details={"url": url})
        try:
            options = parse_qs(
                parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)
            )
        except ValueError as exc:
            raise ConfigError("Malformed S3 blob store URL options.", details={"url": url}) from exc
        unknown = sorted(set(options) - set(_URL_OPTIONS))
        if unknown:
            raise ConfigError(
                f"Unknown S3 blob store option(s): {', '.join(unknown)}; known: {', '.join(_URL_OPTIONS)}.",
                details={"unknown": unknown},
            )
        repeated = sorted(name for name, values in options.items() if len(values) != 1)
        if repeated:
            raise ConfigError(
                "S3 blob store options must appear once.", details={"repeated": repeated}
            )
        return cls(
            parts.netloc,
            unquote(parts.path),
            endpoint_url=options.get("endpoint_url", [None])[0] or None,
            region=options.get("region", [None])[0] or None,
        )

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    # -- writing ---------------------------------------------------------------------

    def new_temp(self) -> AbstractContextManager[tuple[Path, BinaryIO]]:
        return self._temps.new()

    def sweep_temp(self, max_age_seconds: float = 24 * 3600) -> int:
        return self._temps.sweep(max_age_seconds)

    def put_file(self, key: str, path: Path) -> None:
        name = self._name(key)
        self._temps.release(Path(path))
        with self._errors(key):
            self._client.upload_file(str(path), self.bucket, name, Config=self._transfer)

    def put_bytes(self, key: str, data: bytes, *, durable: bool = True) -> None:
        # S3 acknowledges a PUT only once it is durable: ``durable`` changes nothing here.
        name = self._name(key)
        with self._errors(key):
            self._client.upload_fileobj(io.BytesIO(data), self.bucket, name, Config=self._transfer)

    # -- reading ---------------------------------------------------------------------

    def open_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        name = self._name(key)
        check_range(start, end, chunk_size)
        if end == start:
            self.size(key)  # still NotFound for a missing key
            return ChunkIterator(None, 0, chunk_size)
        request: dict[str, str] = {"Bucket": self.bucket, "Key": name}
        if start or end is not None:
            # HTTP ranges are inclusive at both ends.
            request["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        from botocore.exceptions import ClientError

        with self._errors(key):
            try:
                response = self._client.get_object(**request)
            except ClientError as exc:
                if _s3_code(exc) == "InvalidRange":  # start at or past the end: no bytes
                    return ChunkIterator(None, 0, chunk_size)
                raise
        length = None if end is None else end - start
        return ChunkIterator(response["Body"], length, chunk_size)

    def read_bytes(self, key: str) -> bytes:
        return b"".join(self.open_range(key, chunk_size=1 << 20))

    def size(self, key: str) -> int:
        name = self._name(key)
        with self._errors(key):
            return int(self._client.head_object(Bucket=self.bucket, Key=name)["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        name = self._name(key)
        with self._errors(key):
            self._client.delete_object(Bucket=self.bucket, Key=name)  # 204 even when missing

    def local_path(self, key: str) -> Path | None:
        self._name(key)
        return None

    def keys(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        base = f"{self.prefix}/" if self.prefix else ""
        return self._list(base, base + prefix)

    def _list(self, base: str, full_prefix: str) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        with self._errors(full_prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for item in page.get("Contents", ()):
                    yield item["Key"][len(base) :]

    # -- helpers ---------------------------------------------------------------------

    def _name(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """Map boto errors to Vitrina's: a missing key is NotFound, the rest Unavailable."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = _s3_code(exc)
            if code in _NOT_FOUND_CODES:
                raise NotFound("No blob is stored under this key.", details={"key": key}) from exc
            raise Unavailable(
                f"The S3 blob store failed: {code or 'error'}.",
                details={"key": key, "bucket": self.bucket, "s3_code": code},
            ) from exc
        except (BotoCoreError, S3UploadFailedError) as exc:
            raise Unavailable(
                f"The S3 blob store failed: {type(exc).__name__}.",
                details={"key": key, "bucket": self.bucket},
            ) from exc


def _s3_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
