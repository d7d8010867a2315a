"""Template context shared by every page."""

from __future__ import annotations

from django.http import HttpRequest

from leads.roles import role_of


def role(request: HttpRequest) -> dict[str, str | None]:
    user = getattr(request, "user", None)
    return {"user_role": role_of(user) if user is not None else None}
