"""URLs of the lead pages: Today, the list, the board, and each lead's page and controls."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "leads"
urlpatterns = [
    path("", views.lead_list, name="list"),
    path("today/", views.today, name="today"),
    path("board/", views.board, name="board"),
    path("new/", views.lead_create, name="create"),
    path("reassign/", views.lead_reassign, name="reassign"),
    path("<int:lead_id>/", views.lead_detail, name="detail"),
    path("<int:lead_id>/edit/", views.lead_edit, name="edit"),
    path("<int:lead_id>/notes/", views.lead_notes, name="notes"),
    path("<int:lead_id>/stage/", views.lead_stage, name="stage"),
    path("<int:lead_id>/owner/", views.lead_owner, name="owner"),
    path("<int:lead_id>/do-not-call/", views.lead_do_not_call, name="do_not_call"),
]
