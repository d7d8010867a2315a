"""The product's URLs plus `POST /bench/floor/<lead id>/`, for bench/floor_settings.py only.

The floor call log: the rep's lead read the way the product reads it (only among the leads this user sees, so
the role too), one call row inserted, an empty 204. No warmth, follow-ups, history, hourly counts or HTML:
everything the real POST does beyond saving the call and checking who may.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.views.decorators.http import require_POST

from calls.models import Call, Outcome
from leads import selectors
from warmcrm.urls import urlpatterns as product_urlpatterns


@login_required
@require_POST
def floor_call(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = get_object_or_404(selectors.leads_visible_to(request.user).only("id", "owner_id"), pk=lead_id)
    outcome = request.POST.get("outcome", "")
    Call.objects.create(
        lead=lead,
        rep=request.user,
        lead_owner_id=lead.owner_id,
        outcome=outcome if outcome in Outcome.values else Outcome.NO_ANSWER,
        notes=request.POST.get("notes", "")[:1000],
    )
    return HttpResponse(status=204)


urlpatterns = [path("bench/floor/<int:lead_id>/", floor_call), *product_urlpatterns]
