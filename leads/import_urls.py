"""URLs of the list import, mounted at /imports/ (admins only)."""

from __future__ import annotations

from django.urls import path

from . import import_views

app_name = "imports"
urlpatterns = [
    path("", import_views.import_index, name="index"),
    path("upload/", import_views.import_upload, name="upload"),
    path("<int:job_id>/", import_views.import_detail, name="detail"),
    path("<int:job_id>/state/", import_views.import_state, name="state"),
    path("<int:job_id>/confirm/", import_views.import_confirm, name="confirm"),
    path("<int:job_id>/rerun/", import_views.import_rerun, name="rerun"),
    path("<int:job_id>/undo/", import_views.import_undo, name="undo"),
    path("<int:job_id>/errors.csv", import_views.import_error_file, name="errors"),
]
