"""The nav badge: how many follow-ups are due (today or overdue) for the signed-in user."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import due_follow_up_count


def due_badge(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: one COUNT query, and only when a page actually shows the nav (htmx partials do not).
    return {"due_follow_ups": SimpleLazyObject(lambda: due_follow_up_count(user))}
