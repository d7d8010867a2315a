"""Login throttling's two hooks into django-axes: the lockout page, and the client's address behind a proxy."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_username, get_cool_off
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """429 with the login page's look: whose login is paused, for how long, and who can lift it."""
    cool_off = get_cool_off(request)
    context = {
        "username": get_client_username(request, credentials) or "",
        "cooloff_minutes": max(1, round(cool_off.total_seconds() / 60)) if cool_off else None,
    }
    return render(request, "registration/locked_out.html", context, status=429)


def client_address(request: HttpRequest) -> str:
    """The address a login comes from. Behind the TLS proxy (DJANGO_BEHIND_TLS_PROXY) every request arrives from
    the proxy, so the address it appended to X-Forwarded-For counts: the last one, which a client cannot forge."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
