"""Roles: rep, manager, admin. The one place that says who may see what.

Groups are created by a data migration; a user's role is the highest group they belong to
(superusers count as admins). The role is cached on the user object so a page asks once.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend

REP = "rep"
MANAGER = "manager"
ADMIN = "admin"
ROLES = (REP, MANAGER, ADMIN)
_RANK = {REP: 1, MANAGER: 2, ADMIN: 3}


def role_of(user: Any) -> str | None:
    """The user's role name, or None for anonymous users and users in no role group."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_warmcrm_role", False)
    if cached is not False:
        return cached
    if user.is_superuser:
        role = ADMIN
    else:
        names = set(user.groups.values_list("name", flat=True))
        role = max((name for name in names if name in _RANK), key=_RANK.__getitem__, default=None)
    user._warmcrm_role = role
    return role


def sees_all_leads(user: Any) -> bool:
    """Managers and admins see every lead; reps only their own."""
    return role_of(user) in (MANAGER, ADMIN)


def is_admin(user: Any) -> bool:
    return role_of(user) == ADMIN


class AdminRoleBackend(BaseBackend):
    """Members of the admin group hold every model permission, so the Django admin works for them."""

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return is_admin(user_obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return is_admin(user_obj)
