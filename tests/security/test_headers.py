"""Security headers and cookies: the policy itself, the inline-code scanner, and production mode end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.security.inline_code import inline_code_in

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "tests-" + "k3y9Qz7Lm2Wx8Pv4Rt6Yb1Nc5Hd0Jf" * 2,
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    "DATABASE_URL": "sqlite://:memory:",
    # Production serves the hashed files collectstatic writes; the probe renders a page without running it.
    "DJANGO_STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
}

# In production mode: one plain HTTP request and one HTTPS request to the login page, through Django's test client.
PROBE = """
import json, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
plain = client.get("/accounts/login/", HTTP_HOST="crm.example.com")
secure = client.get("/accounts/login/", HTTP_HOST="crm.example.com", secure=True)
cookie = secure.cookies["csrftoken"]
from django.conf import settings
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location", "")],
    "secure": secure.status_code,
    "headers": {name: secure.get(name) for name in (
        "Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options", "Referrer-Policy",
        "X-Content-Type-Options", "Cross-Origin-Opener-Policy")},
    "csrf_cookie": {"secure": bool(cookie["secure"]), "httponly": bool(cookie["httponly"]),
                    "samesite": cookie["samesite"]},
    "session_cookie": {"secure": settings.SESSION_COOKIE_SECURE, "httponly": settings.SESSION_COOKIE_HTTPONLY},
}))
"""


def _production(code: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "warmcrm.settings"}
    # The browser tests' conftest sets this for Playwright's event loop in the test process; a deployment has none.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(code, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def production() -> dict:
    result = _production([sys.executable, "-c", PROBE])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_to_https_and_sends_hsts(production):
    assert production["plain"] == [301, "https://crm.example.com/accounts/login/"]
    assert production["secure"] == 200
    assert production["headers"]["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_production_headers(production):
    headers = production["headers"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "object-src 'none'", "base-uri 'self'", "form-action 'self'"):
        assert directive in policy
    assert "unsafe" not in policy


def test_production_cookies_are_secure_and_http_only(production):
    assert production["csrf_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert production["session_cookie"] == {"secure": True, "httponly": True}


def test_check_deploy_is_clean_in_production():
    result = _production([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_demo_mode_still_sends_the_policy_and_framing_headers(client, db):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response  # no HSTS over plain HTTP on a laptop


def test_the_scanner_finds_each_kind_of_inline_code():
    page = """<html><head><script>alert(1)</script><style>p{}</style>
    <script src="/static/a.js"></script><script type="application/json" id="d">{"a": 1}</script></head>
    <body><p style="color:red" onclick="x()"><a href="javascript:void(0)">x</a></p></body></html>"""
    found = inline_code_in(page)
    assert [f.split(": ", 1)[1] for f in found] == [
        "inline <script>",
        "<style> element",
        "style= attribute on <p>",
        "onclick= handler on <p>",
        "javascript: URL in href= on <a>",
    ]
    assert inline_code_in('<script src="/static/js/workspace.js" defer></script>') == []
