"""Reading a POST body as flat text fields: urlencoded, multipart or a JSON object.

Everything that is not one of these, or is broken (invalid UTF-8, malformed or
too deeply nested JSON, a JSON value that is not text, a lone surrogate or a
NUL in a value, repeated or too many fields), is a FormError with a status and
a short generic message (RELIABILITY #39). Repeated fields are refused in every
encoding alike: with two ``email`` fields, which one the person meant is a guess.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

MAX_FIELDS = 20
_LABELS = {"email": "the email address", "name": "the name"}
_PLAIN_NAME = re.compile(r"[a-z_]{1,20}")


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
        return _multipart(request.headers.get("content-type", ""), await request.body())
    if kind == "application/json":
        return _json(await request.body())
    raise FormError(415, "send the form as application/x-www-form-urlencoded, "
                         "multipart/form-data or application/json")


def _urlencoded(body: bytes) -> dict[str, str]:
    if body.count(b"&") >= MAX_FIELDS:
        raise FormError(400, f"the form has more than {MAX_FIELDS} fields")
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, encoding="utf-8",
            errors="strict", max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormError(400, "the form data is not valid UTF-8 form encoding") from None
    return _flat(pairs)


def _multipart(content_type: str, body: bytes) -> dict[str, str]:
    """Parse multipart/form-data ourselves: Starlette would read invalid UTF-8 as Latin-1."""
    _kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    charset = options.get(b"charset", b"utf-8").decode("latin-1").lower()
    if not boundary or charset not in ("utf-8", "utf8"):
        raise FormError(400, "the form data could not be read")
    parts: list[tuple[list[tuple[bytes, bytes]], bytearray]] = []
    header: list[bytes] = [b"", b""]

    def begin() -> None:
        parts.append(([], bytearray()))

    def header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def header_end() -> None:
        parts[-1][0].append((header[0].lower(), header[1]))
        header[:] = [b"", b""]

    def part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    callbacks: Any = {
        "on_part_begin": begin, "on_header_field": header_field,
        "on_header_value": header_value, "on_header_end": header_end,
        "on_part_data": part_data,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except Exception:  # python-multipart raises several kinds for broken bodies
        raise FormError(400, "the form data could not be read") from None
    if not parts:
        raise FormError(400, "the form data could not be read")
    if len(parts) > MAX_FIELDS:
        raise FormError(400, f"the form has more than {MAX_FIELDS} fields")
    pairs: list[tuple[str, str]] = []
    for headers, data in parts:
        disposition = dict(headers).get(b"content-disposition")
        _value, params = parse_options_header(disposition)
        if b"filename" in params:
            raise FormError(400, "the form must not contain files")
        if b"name" not in params:
            raise FormError(400, "the form data could not be read")
        try:
            pairs.append((params[b"name"].decode("utf-8"), bytes(data).decode("utf-8")))
        except UnicodeDecodeError:
            raise FormError(400, "the form data is not valid UTF-8") from None
    return _flat(pairs)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise FormError(400, f"{_what(key)} was sent twice")
        result[key] = value
    return result


def _json(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: a few thousand nested brackets fit under the size cap.
        raise FormError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict) or len(data) > MAX_FIELDS:
        raise FormError(400, "the JSON body must be an object of text fields")
    fields: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise FormError(400, f"{_what(key)} must be text")
        fields[key] = value
    return _checked(fields)


def _checked(fields: dict[str, str]) -> dict[str, str]:
    """Refuse what no database can store: lone surrogates (JSON ``\\ud800``) and NUL."""
    for key, value in fields.items():
        what = _what(key)
        for text in (key, value):
            if "\x00" in text:
                raise FormError(400, f"{what} contains a NUL character")
            if any("\ud800" <= ch <= "\udfff" for ch in text):
                raise FormError(400, f"{what} is not valid Unicode text")
    return fields


def _what(key: str) -> str:
    """How an error names a field: our own names as such, anything else not repeated back."""
    if key in _LABELS:
        return _LABELS[key]
    return f"the field {key!r}" if _PLAIN_NAME.fullmatch(key) else "a field of the form"


def _flat(pairs: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise FormError(400, f"{_what(key)} was sent twice")
        fields[key] = value
    return _checked(fields)
