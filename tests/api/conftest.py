"""Fixtures for API tests: tokens for each role and clients that send them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from warmcrm.api.models import ApiToken
from warmcrm.api.services import api_token_create


@pytest.fixture(autouse=True)
def _fresh_throttle_counts() -> None:
    cache.clear()  # the rate-limit counters live in the cache


@pytest.fixture
def token_for(db) -> Callable[..., str]:
    def make(user: Any, kind: str = ApiToken.Kind.PERSONAL, name: str = "test") -> str:
        return api_token_create(user=user, name=name, kind=kind)[1]

    return make


@pytest.fixture
def client_for(token_for) -> Callable[..., APIClient]:
    """An API client authenticated with a new Bearer token of `user`."""

    def make(user: Any, kind: str = ApiToken.Kind.PERSONAL) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user, kind)}")
        return client

    return make


@pytest.fixture
def rep_api(client_for, rep) -> APIClient:
    return client_for(rep)


@pytest.fixture
def manager_api(client_for, manager) -> APIClient:
    return client_for(manager)


@pytest.fixture
def admin_api(client_for, admin_user) -> APIClient:
    return client_for(admin_user)
