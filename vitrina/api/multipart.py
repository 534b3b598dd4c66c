"""Stream one file field of a multipart body straight into a staged upload.

Starlette's form parsing spools the whole body before the handler runs; this reads
the body as it arrives, so the byte limit is enforced while streaming and nothing
oversized ever lands on disk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.multipart import MultipartParser, parse_options_header

from vitrina.errors import InvalidInput, VitrinaError
from vitrina.pipeline.ingest import StagedFile

OTHER_FIELDS_LIMIT = 64 * 1024  # bytes of non-file fields we tolerate


def boundary_of(content_type: str | None) -> bytes:
    ctype, params = parse_options_header((content_type or "").encode("latin-1"))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise InvalidInput("send the file as multipart/form-data in a field named 'file'",
                           code="expected_multipart")
    return params[b"boundary"]


async def read_file_field(body: AsyncIterator[bytes], boundary: bytes, sink: StagedFile,
                          field: str = "file") -> str | None:
    """Write the named field's bytes to ``sink``; returns the client's file name."""
    state = {"header_field": b"", "headers": {}, "in_file": False, "found": False,
             "filename": None, "other": 0}

    def on_part_begin() -> None:
        state["headers"], state["in_file"] = {}, False

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header_field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        name = state["header_field"].lower()
        state["headers"][name] = state["headers"].get(name, b"") + data[start:end]

    def on_header_end() -> None:
        state["header_field"] = b""

    def on_headers_finished() -> None:
        _, params = parse_options_header(state["headers"].get(b"content-disposition", b""))
        if params.get(b"name", b"").decode("utf-8", "replace") == field and not state["found"]:
            state["in_file"] = state["found"] = True
            raw = params.get(b"filename")
            # bytes that are not UTF-8 stay visible (as lone surrogates) for safe_filename to refuse
            state["filename"] = raw.decode("utf-8", "surrogateescape") if raw is not None else None

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["in_file"]:
            sink.write(data[start:end])
        else:
            state["other"] += end - start
            if state["other"] > OTHER_FIELDS_LIMIT:
                raise InvalidInput(f"send the file in a field named {field!r}: other form fields "
                                   f"hold at most {OTHER_FIELDS_LIMIT} bytes", code="invalid_form")

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
    })
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except VitrinaError:  # limits raised by the sink pass through
        raise
    except Exception as exc:  # noqa: BLE001  any parser failure is the client's malformed body
        raise InvalidInput(f"malformed multipart body: {exc}", code="invalid_form") from None
    if not state["found"]:
        raise InvalidInput("no field named 'file' in the form", code="missing_file")
    return state["filename"]
