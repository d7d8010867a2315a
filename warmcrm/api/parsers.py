"""The API's JSON parser: DRF's, with a clear 400 for JSON nested too deeply to decode."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JsonParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json.loads recurses once per nesting level: "[[[[…" a hundred thousand deep was a 500.
            raise ParseError("JSON parse error - the request body is nested too deeply.") from None
