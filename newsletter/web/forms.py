"""Reading a POST body as flat text fields: urlencoded, multipart or a JSON object.

Everything that is not one of these, or is broken (invalid UTF-8, malformed
JSON, a JSON value that is not text, repeated or too many fields), is a
FormError with a status and a short generic message (RELIABILITY #39).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request

MAX_FIELDS = 20


class FormError(Exception):
    """A request body we will not read; ``status`` is 400, 413 or 415."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(request: Request) -> str:
    """The request's media type, lower-case, without parameters."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def wants_json(request: Request) -> bool:
    """True when the client sent JSON or asks for JSON rather than a page."""
    if media_type(request) == "application/json":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def read_fields(request: Request) -> dict[str, str]:
    """The body's fields as text; FormError when the body is not a readable form."""
    kind = media_type(request)
    if kind == "application/x-www-form-urlencoded":
        return _urlencoded(await request.body())
    if kind == "multipart/form-data":
        return await _multipart(request)
    if kind == "application/json":
        return _json(await request.body())
    raise FormError(415, "send the form as application/x-www-form-urlencoded, "
                         "multipart/form-data or application/json")


def _urlencoded(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, encoding="utf-8",
            errors="strict", max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormError(400, "the form data is not valid UTF-8 form encoding") from None
    return _flat(pairs)


async def _multipart(request: Request) -> dict[str, str]:
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception:  # python-multipart and starlette raise several kinds for broken bodies
        raise FormError(400, "the form data could not be read") from None
    pairs: list[tuple[str, str]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            raise FormError(400, "the form must not contain files")
        if "\ufffd" in value:
            raise FormError(400, "the form data is not valid UTF-8")
        pairs.append((key, value))
    await form.close()
    return _flat(pairs)


def _json(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise FormError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict) or len(data) > MAX_FIELDS:
        raise FormError(400, "the JSON body must be an object of text fields")
    fields: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise FormError(400, f"the field {key[:40]!r} must be text")
        fields[key] = value
    return fields


def _flat(pairs: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise FormError(400, f"the field {key[:40]!r} was sent twice")
        fields[key] = value
    return fields
