from __future__ import annotations

from django.urls import path

from . import views

app_name = "dashboard"
urlpatterns = [
    path("", views.dashboard, name="index"),
    path("export/<slug:panel>.csv", views.export, name="export"),
]
