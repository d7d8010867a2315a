"""Settings come from the environment: embedded defaults, real services when configured, strict production."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']), "
    "'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG, 'email': s.EMAIL_BACKEND}))"
)
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "EMAIL_"))}
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
}


def probe(**env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**CLEAN, "DJANGO_SETTINGS_MODULE": "warmcrm.settings", **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_are_sqlite_and_the_filesystem_broker():
    config = probe()
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["name"] == str(ROOT / "db.sqlite3")
    assert config["broker"] == "filesystem://"
    assert config["debug"] is True
    assert config["email"] == "django.core.mail.backends.console.EmailBackend"


def test_environment_switches_to_postgres_redis_and_smtp():
    config = probe(
        DATABASE_URL="postgres://crm:secret@db.internal:5432/warmcrm",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        EMAIL_URL="smtp+tls://user:pass@smtp.example.com:587",
    )
    assert config["engine"] == "django.db.backends.postgresql"
    assert config["name"] == "warmcrm"
    assert config["broker"] == "redis://cache.internal:6379/0"
    assert config["email"] == "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("DJANGO_SECRET_KEY", "Set DJANGO_SECRET_KEY to a random string of at least 50 characters."),
        ("DJANGO_ALLOWED_HOSTS", "Set DJANGO_ALLOWED_HOSTS to the host names this site is served on."),
    ],
)
def test_production_refuses_to_start_without_its_secrets(missing, message):
    env = {**CLEAN, **PRODUCTION, "DJANGO_SETTINGS_MODULE": "warmcrm.settings"}
    del env[missing]
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_refuses_a_weak_secret_key():
    env = {**CLEAN, **PRODUCTION, "DJANGO_SETTINGS_MODULE": "warmcrm.settings", "DJANGO_SECRET_KEY": "ab" * 30}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY to a random string" in result.stderr


def test_check_deploy_is_clean_in_production():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**CLEAN, **PRODUCTION},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_parallel_query_workers_can_be_set_for_the_connections():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default'].get('OPTIONS', {}).get('options', ''))"
    )
    postgres = {"DJANGO_SETTINGS_MODULE": "warmcrm.settings", "DATABASE_URL": "postgres://crm@db.internal:5432/warmcrm"}
    for extra, expected in [
        ({}, ""),
        ({"DATABASE_MAX_PARALLEL_WORKERS_PER_GATHER": "0"}, "-c max_parallel_workers_per_gather=0"),
    ]:
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env={**CLEAN, **postgres, **extra}, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected
