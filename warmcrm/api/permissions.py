"""Who may call what: members of the sales team; website-form tokens only the inbound endpoint."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from leads.roles import is_admin, role_of, sees_all_leads

from .models import ApiToken


class IsSalesTeam(BasePermission):
    """A user with a role (rep, manager, admin); the data they see is scoped by leads_visible_to."""

    message = "Your account has no role in WarmCRM; ask an admin to add you to the team."

    def has_permission(self, request: Request, view: Any) -> bool:
        return role_of(request.user) is not None


class TokenKindAllowed(BasePermission):
    """A website-form token can post inbound leads and nothing else, so a leaked form key exposes no data."""

    message = "This is a website-form token: it can only post inbound leads."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.kind == ApiToken.Kind.INBOUND:
            return bool(getattr(view, "accepts_inbound_tokens", False))
        return True


class CanPostInbound(BasePermission):
    """Admins (their personal or website-form token, or their session) post inbound leads."""

    message = "Only an admin's token or a website-form token can post inbound leads."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_admin(request.user)


class ManagersWrite(BasePermission):
    """Everyone on the team reads; managers and admins write (events)."""

    message = "Only managers and admins can change events."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in ("GET", "HEAD", "OPTIONS") or sees_all_leads(request.user)
