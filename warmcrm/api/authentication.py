"""Bearer-token authentication for the API. The browser uses its session (with CSRF) beside it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from warmcrm.accounts.middleware import activate_time_zone_of

from . import tokens
from .models import ApiToken
from .services import api_token_touch


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer wcrm_<prefix>_<secret>`; the token is found by its prefix and checked by hash."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1", errors="replace").split()
        if not header or header[0].lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the header as “Authorization: Bearer <token>”."))
        raw = header[1]
        prefix = tokens.api_token_prefix(raw)
        with_zone = ApiToken.objects.select_related("user", "user__profile")  # the profile holds the time zone
        token = with_zone.filter(prefix=prefix).first() if prefix is not None else None
        if token is None or not tokens.secret_matches(raw, token.key_hash):
            raise exceptions.AuthenticationFailed(_("This API token is not valid."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API token was revoked."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The user of this API token is deactivated."))
        api_token_touch(token=token)
        activate_time_zone_of(token.user)  # "today" and due times in the token user's zone, as in the browser
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
