"""The API's JSON parser: nesting is bounded and every string is cleaned, so a body a
client could send is either a 400 with a message or text that can be stored."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import exceptions, parsers

from core.text import clean_text

MAX_DEPTH = 64
TOO_DEEP = f"The JSON is nested too deeply (at most {MAX_DEPTH} levels)."
NOT_JSON = "The body is not valid JSON: {problem}."


def _clean(data: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise exceptions.ParseError(TOO_DEEP)
    if isinstance(data, str):
        return clean_text(data)
    if isinstance(data, list):
        return [_clean(v, depth + 1) for v in data]
    if isinstance(data, dict):
        return {clean_text(k): _clean(v, depth + 1) for k, v in data.items()}
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus: nesting is bounded (a deeply nested body is a 400, not a
    crash of the decoder), and every string is cleaned with :func:`clean_text`, so text
    that reaches a service can be stored and echoed in a message."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ParseError(NOT_JSON.format(problem="it is not UTF-8")) from None
        try:
            data = json.loads(text)
        except RecursionError:
            raise exceptions.ParseError(TOO_DEEP) from None
        except ValueError as error:
            problem = clean_text(str(error))
            raise exceptions.ParseError(NOT_JSON.format(problem=problem)) from None
        return _clean(data)
