from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "warmcrm.accounts"
    label = "accounts"
    verbose_name = "Profiles and reminders"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the login hook that remembers the time zone)
