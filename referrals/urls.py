"""URLs of the referral pages."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "referrals"
urlpatterns = [
    path("", views.referrer_list, name="list"),
    path("<int:source_id>/", views.referrer_detail, name="detail"),
    path("ask/<int:lead_id>/", views.referral_ask_page, name="ask"),
]
