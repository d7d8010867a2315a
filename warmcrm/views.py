"""Project-level views: the home redirect and the health check used by docker-compose and tests."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from leads.roles import sees_all_leads


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Reps start the day on their call queue; managers and admins on the leads of the whole team."""
    return redirect("leads:list" if sees_all_leads(request.user) else "leads:today")


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answers 200 when the web process can reach its database; used by health checks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
