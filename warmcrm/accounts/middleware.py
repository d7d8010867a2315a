"""Activate the signed-in user's time zone, so 'today', 'due' and 'overdue' are theirs on every page and in the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .signals import SESSION_KEY


class UserTimeZoneMiddleware:
    """Reads the zone from the session (written at login and when the profile is saved).

    A session from before profiles existed has no zone yet: read the profile once and remember it.
    API calls with a bearer token have no session user here: the API's token authentication calls
    activate_time_zone_of(user) once it knows the user.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            name = request.session.get(SESSION_KEY)
            if not name:
                from .selectors import profile_for

                name = str(profile_for(user).time_zone)
                request.session[SESSION_KEY] = name
            try:
                timezone.activate(ZoneInfo(name))
            except (ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()  # the thread serves someone else next


def activate_time_zone_of(user: Any) -> None:
    """Activate the user's zone from an already-loaded profile (select_related("user__profile")): no query."""
    try:
        name = str(user.profile.time_zone)
    except ObjectDoesNotExist:
        return  # no profile yet: the team zone, until the user saves their settings or signs in
    try:
        timezone.activate(ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()
