"""The profile page: a user's own time zone, working days and digest settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from leads.roles import role_of

from .forms import ProfileForm
from .selectors import profile_for
from .services import profile_update
from .signals import SESSION_KEY


@require_http_methods(["GET", "POST"])
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    if role_of(request.user) is None:
        raise PermissionDenied("Only members of the sales team have a profile here.")
    current = profile_for(request.user)
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            saved = profile_update(profile=profile_for(request.user), **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            request.session[SESSION_KEY] = str(saved.time_zone)
            messages.success(request, "Settings saved.")
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})
