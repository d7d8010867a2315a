"""URLs for logging calls."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "calls"
urlpatterns = [
    path("log/<int:lead_id>/", views.call_log_page, name="log"),
]
