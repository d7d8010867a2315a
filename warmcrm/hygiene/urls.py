"""URLs of the hygiene pages."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "hygiene"
urlpatterns = [
    path("duplicates/", views.duplicate_list, name="duplicates"),
    path("duplicates/<int:pair_id>/merge/", views.merge, name="merge"),
    path("duplicates/<int:pair_id>/not-duplicate/", views.not_duplicate, name="not_duplicate"),
    path("slipping/", views.slipping, name="slipping"),
    path("lost-reasons/", views.lost_reasons, name="lost_reasons"),
    path("leads/<int:lead_id>/snooze/", views.snooze_stale, name="snooze"),
]
