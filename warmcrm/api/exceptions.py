"""One error shape for every API failure: {"error": {"code", "message", "fields": {name: [messages]}}}.

Django ValidationErrors raised by the services (the same messages the pages show) become field errors.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

NON_FIELD_KEYS = {NON_FIELD_ERRORS, api_settings.NON_FIELD_ERRORS_KEY}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found, or not one you can see.")  # the same words whichever it was
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected exception: Django's 500 handling and logging take over
    if isinstance(exc, exceptions.ValidationError):
        fields: dict[str, list[str]] = {}
        _flatten(exc.detail, "", fields)
        general = [message for key in NON_FIELD_KEYS for message in fields.pop(key, [])]
        message = " ".join(general) or "; ".join(f"{name}: {messages[0]}" for name, messages in fields.items())
        response.data = {
            "error": {"code": "invalid", "message": message or "The request is not valid.", "fields": fields}
        }
    else:
        detail = getattr(exc, "detail", "")
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {
            "error": {"code": code if isinstance(code, str) else "error", "message": str(detail), "fields": {}}
        }
    return response


def _flatten(detail: Any, name: str, into: dict[str, list[str]]) -> None:
    """Collect messages under their field name; nested serializer errors get dotted names ("lead.email")."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            key = NON_FIELD_ERRORS if key in NON_FIELD_KEYS else str(key)
            _flatten(value, f"{name}.{key}" if name and key != NON_FIELD_ERRORS else (name or key), into)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            # Lists of messages stay under the name; lists of objects (nested many=True) get an index.
            _flatten(item, f"{name}.{index}" if isinstance(item, dict | list) else name, into)
    else:
        into.setdefault(name or NON_FIELD_ERRORS, []).append(str(detail))
