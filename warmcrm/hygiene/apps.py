from __future__ import annotations

from django.apps import AppConfig


class HygieneConfig(AppConfig):
    name = "warmcrm.hygiene"
    label = "hygiene"
    verbose_name = "Pipeline hygiene"
