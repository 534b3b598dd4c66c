"""Plain dicts (JSON-ready) to and from the package's frozen dataclasses.

``to_dict`` turns enums into their values, datetimes into ISO 8601 strings and
tuples into lists; ``from_dict`` reads them back by the dataclass's type hints and
refuses unknown or missing fields, so a typo in a stored definition is an error,
not a silent default.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from vitrina.errors import InvalidInput

T = TypeVar("T")


def to_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (list, tuple)):
        return [to_dict(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return to_dict(obj.item())
    return obj


def from_dict(cls: type[T], data: Any) -> T:
    return _read(cls, data, cls.__name__)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _read(tp: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _read(option, data, where)
            except (InvalidInput, TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise InvalidInput(f"{where}: no accepted form matches ({'; '.join(errors)})")
    if origin is typing.Literal:
        if data not in typing.get_args(tp):
            raise InvalidInput(f"{where}: {data!r} is not one of {typing.get_args(tp)}")
        return data
    if origin in (tuple, list):
        if not isinstance(data, (list, tuple)):
            raise InvalidInput(f"{where}: expected a list")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(data):
                raise InvalidInput(f"{where}: expected {len(args)} items")
            return tuple(_read(a, x, f"{where}[{i}]") for i, (a, x) in enumerate(zip(args, data)))
        item = args[0] if args else Any
        items = [_read(item, x, f"{where}[{i}]") for i, x in enumerate(data)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(data, dict):
            raise InvalidInput(f"{where}: expected an object")
        _, value_type = typing.get_args(tp) or (str, Any)
        return {k: _read(value_type, v, f"{where}.{k}") for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        return _read_dataclass(tp, data, where)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError:
            allowed = [m.value for m in tp]
            raise InvalidInput(f"{where}: {data!r} is not one of {allowed}") from None
    if tp is datetime:
        if isinstance(data, datetime):
            return data
        if not isinstance(data, str):
            raise InvalidInput(f"{where}: expected an ISO 8601 time")
        return datetime.fromisoformat(data)
    if tp is float:
        if data in ("inf", "-inf"):
            return float(data)
        if data is None:
            return math.nan
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise InvalidInput(f"{where}: expected a number")
        try:
            return float(data)
        except OverflowError:  # an integer past any float
            raise InvalidInput(f"{where}: the number is too large") from None
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise InvalidInput(f"{where}: expected an integer")
        return data
    if tp in (str, bool):
        if not isinstance(data, tp):
            raise InvalidInput(f"{where}: expected {tp.__name__}")
        return data
    raise TypeError(f"{where}: cannot read type {tp!r}")


def _read_dataclass(cls: type, data: Any, where: str) -> Any:
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: expected an object")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InvalidInput(f"{where}: unknown field(s) {unknown}", details={"fields": unknown})
    hints = _hints(cls)
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _read(hints[name], data[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InvalidInput(f"{where}: missing field {name!r}")
    return cls(**kwargs)
