"""The nav badge: how many follow-ups are due (today or overdue) for the signed-in user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import due_follow_up_count

BADGE_MAX = 99  # above it the badge says "99+": the exact figure is on Today and the dashboard


def badge_label(user: Any) -> int | str:
    count = due_follow_up_count(user, at_most=BADGE_MAX + 1)
    return f"{BADGE_MAX}+" if count > BADGE_MAX else count


def due_badge(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: one COUNT query (of at most BADGE_MAX + 1 rows), and only when a page shows the nav (htmx partials do not).
    return {"due_follow_ups": SimpleLazyObject(lambda: badge_label(user))}
