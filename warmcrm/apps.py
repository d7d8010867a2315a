from __future__ import annotations

from django.apps import AppConfig


class WarmcrmConfig(AppConfig):
    name = "warmcrm"
    verbose_name = "WarmCRM"
