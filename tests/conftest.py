"""Shared fixtures: users in each role, and the switches for tests that need real services or a browser."""
from __future__ import annotations

import os
import shutil

import pytest
from django.test import Client

from tests.factories import LeadFactory, UserFactory

CHROMIUM = os.environ.get("WARMCRM_CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `services` need PostgreSQL and Redis; `browser` tests need Chromium.

    They are skipped with the reason printed when those are missing, unless CI asks for them
    (WARMCRM_REQUIRE_SERVICES / WARMCRM_REQUIRE_BROWSER), where a missing piece is an error.
    """
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    services_ready = on_postgres and settings.CELERY_BROKER_URL.startswith("redis://")
    browser_ready = shutil.which(CHROMIUM) is not None
    for item in items:
        if "services" in item.keywords and not services_ready:
            if os.environ.get("WARMCRM_REQUIRE_SERVICES"):
                raise pytest.UsageError("WARMCRM_REQUIRE_SERVICES is set but DATABASE_URL/CELERY_BROKER_URL are not.")
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…"))
        if "browser" in item.keywords and not browser_ready:
            if os.environ.get("WARMCRM_REQUIRE_BROWSER"):
                raise pytest.UsageError(f"WARMCRM_REQUIRE_BROWSER is set but {CHROMIUM} is missing.")
            item.add_marker(pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)"))


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    """Tests create many users; the production hasher's deliberate slowness buys nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def rep(db):
    return UserFactory(username="rita", role="rep")


@pytest.fixture
def other_rep(db):
    return UserFactory(username="raj", role="rep")


@pytest.fixture
def manager(db):
    return UserFactory(username="maria", role="manager")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="adam", role="admin")


@pytest.fixture
def rep_client(rep) -> Client:
    client = Client()
    client.force_login(rep)
    return client


@pytest.fixture
def manager_client(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


@pytest.fixture
def admin_client_role(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def lead(rep):
    return LeadFactory(owner=rep)


@pytest.fixture
def other_lead(other_rep):
    return LeadFactory(owner=other_rep)
