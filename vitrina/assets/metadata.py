"""User metadata of an asset: what ``PATCH /v1/assets/{id}`` accepts, checked and
normalised before anything is written (decision 022).

:func:`parse_patch` turns a JSON body into a :class:`MetadataPatch` or raises
``invalid_metadata`` naming the member at fault; :func:`merged` applies a patch to what
is stored. Pure functions: no catalog, no clock.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vitrina.errors import InvalidInput

MAX_TITLE = 300
MAX_ALT_TEXT = 1000
MAX_TAGS = 50
MAX_TAG = 64
MAX_FIELDS = 50
MAX_FIELD_VALUE = 1000
FIELD_KEY = re.compile(r"[a-z0-9_.-]{1,64}")
#: integers beyond this lose precision in JavaScript and in some JSON columns
MAX_SAFE_INTEGER = 2**53 - 1
#: the source of tags a person set (analysers write their own name)
USER_TAGS = "user"
MEMBERS = frozenset({"title", "alt_text", "tags", "fields"})

FieldValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class UserMetadata:
    """An asset's user metadata as stored."""

    title: str | None = None
    alt_text: str | None = None
    tags: tuple[str, ...] = ()  # normalised, in the order given
    fields: Mapping[str, FieldValue] | None = None


@dataclass(frozen=True, slots=True)
class MetadataPatch:
    """What one PATCH changes: only the members present in its body."""

    present: frozenset[str]
    title: str | None = None
    alt_text: str | None = None
    tags: tuple[str, ...] = ()
    fields: Mapping[str, FieldValue | None] | None = None  # None values delete their key


def invalid(member: str, message: str, **details: Any) -> InvalidInput:
    return InvalidInput(f"{member}: {message}", code="invalid_metadata", details={"field": member, **details})


def parse_patch(body: Any) -> MetadataPatch:
    """The patch a JSON body asks for; ``invalid_metadata`` for anything else (an unknown
    member, a wrong type, a limit broken), before anything is written."""
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object with title, alt_text, tags or fields")
    unknown = sorted(set(body) - MEMBERS)
    if unknown:
        raise invalid(unknown[0][:64], "unknown member", allowed=sorted(MEMBERS))
    return MetadataPatch(
        present=frozenset(body),
        title=_text(body, "title", MAX_TITLE, multiline=False),
        alt_text=_text(body, "alt_text", MAX_ALT_TEXT, multiline=True),
        tags=_tags(body["tags"]) if "tags" in body else (),
        fields=_fields(body["fields"]) if "fields" in body else None,
    )


def merged(current: UserMetadata, patch: MetadataPatch) -> UserMetadata:
    """``current`` with ``patch`` applied: a missing member leaves its value, ``null``
    clears the title or alt text, tags are replaced, fields are merged key by key."""
    fields = dict(current.fields or {})
    for key, value in (patch.fields or {}).items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    if len(fields) > MAX_FIELDS:
        raise invalid("fields", f"an asset holds at most {MAX_FIELDS} fields", max=MAX_FIELDS)
    present = patch.present
    return UserMetadata(
        title=patch.title if "title" in present else current.title,
        alt_text=patch.alt_text if "alt_text" in present else current.alt_text,
        tags=patch.tags if "tags" in present else current.tags,
        fields=fields,
    )


def normalise_tag(raw: str) -> str:
    """How a tag is stored and matched: trimmed, lower-case."""
    return raw.strip().lower()


def _control(text: str, *, multiline: bool) -> bool:
    allowed = "\n\t" if multiline else ""
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def _text(body: dict[str, Any], member: str, limit: int, *, multiline: bool) -> str | None:
    value = body.get(member)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(member, "must be a string or null")
    if len(value) > limit:
        raise invalid(member, f"at most {limit} characters", max=limit)
    if _control(value, multiline=multiline):
        raise invalid(member, "must not contain control characters")
    return value


def _tags(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise invalid("tags", "must be a list of strings")
    if len(value) > MAX_TAGS:
        raise invalid("tags", f"at most {MAX_TAGS} tags", max=MAX_TAGS)
    tags: dict[str, None] = {}  # ordered, without repeats
    for i, raw in enumerate(value):
        if not isinstance(raw, str):
            raise invalid("tags", "every tag must be a string", index=i)
        tag = normalise_tag(raw)
        if not 1 <= len(tag) <= MAX_TAG:
            raise invalid("tags", f"a tag is 1 to {MAX_TAG} characters once trimmed", index=i)
        if _control(tag, multiline=False):
            raise invalid("tags", "a tag must not contain control characters", index=i)
        tags[tag] = None
    return tuple(tags)


def _fields(value: Any) -> dict[str, FieldValue | None]:
    if not isinstance(value, dict):
        raise invalid("fields", "must be an object of key -> string, number, boolean or null")
    if len(value) > MAX_FIELDS:
        raise invalid("fields", f"at most {MAX_FIELDS} keys", max=MAX_FIELDS)
    out: dict[str, FieldValue | None] = {}
    for key, item in value.items():
        if not FIELD_KEY.fullmatch(key):
            raise invalid("fields", "a key is 1 to 64 of a-z 0-9 _ . -", key=key[:64])
        out[key] = _field_value(key, item)
    return out


def _field_value(key: str, item: Any) -> FieldValue | None:
    where = f"fields.{key}"
    if item is None or isinstance(item, bool):
        return item
    if isinstance(item, int):
        if abs(item) > MAX_SAFE_INTEGER:
            raise invalid(where, f"an integer is at most {MAX_SAFE_INTEGER} in size", key=key)
        return item
    if isinstance(item, float):
        if not math.isfinite(item):
            raise invalid(where, "a number must be finite", key=key)
        return item
    if isinstance(item, str):
        if len(item) > MAX_FIELD_VALUE:
            raise invalid(where, f"at most {MAX_FIELD_VALUE} characters", key=key, max=MAX_FIELD_VALUE)
        if _control(item, multiline=True):
            raise invalid(where, "must not contain control characters", key=key)
        return item
    raise invalid(where, "a value is a string, number, boolean or null", key=key)
