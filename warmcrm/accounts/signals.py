"""On login, remember the user's time zone in the session so each request activates it without a query."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

SESSION_KEY = "warmcrm_time_zone"


@receiver(user_logged_in, dispatch_uid="accounts-remember-time-zone")
def remember_time_zone(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from .selectors import profile_for

    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = str(profile_for(user).time_zone)
