"""Rate limit per API token (per user for the browser session), at settings.API_RATE_LIMIT.

The counters live in the cache (Redis when CACHE_URL says so). When the cache cannot be reached the limit
fails open: the request is served and a warning logged, rather than the whole API answering 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken

logger = logging.getLogger(__name__)


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api_token"

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            logger.warning("API rate limit not applied, the cache is unreachable: %s", exc)
            return True

    def get_rate(self) -> str:
        # Read at request time, not import time, so the setting (and a test's override) always applies.
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
