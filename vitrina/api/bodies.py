"""JSON bodies read by the routes that check them themselves."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from vitrina.errors import InvalidInput


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; ``invalid_input`` for anything else (the body limits
    already refused what no catalog can store)."""
    try:
        body = json.loads(await request.body())
    except ValueError:  # not UTF-8 JSON, or an integer too long to read
        raise InvalidInput("the body must be a JSON object", details={"expected": "object"}) from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", details={"expected": "object"})
    return body
