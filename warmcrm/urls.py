"""Top-level URLs: the apps, authentication, the admin and a health check."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("leads/", include("leads.urls")),
    path("imports/", include("leads.import_urls")),
    path("calls/", include("calls.urls")),
    path("referrals/", include("referrals.urls")),
    path("dashboard/", include("warmcrm.dashboard.urls")),
    path("api/", include("warmcrm.api.urls")),
    path("me/", include("warmcrm.accounts.urls")),
    path("hygiene/", include("warmcrm.hygiene.urls")),
    path("admin/", admin.site.urls),
]
