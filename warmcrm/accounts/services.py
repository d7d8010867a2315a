"""Writes to profiles."""

from __future__ import annotations

from typing import Any

from .models import Profile


def profile_update(*, profile: Profile, **fields: Any) -> Profile:
    allowed = {"time_zone", "working_days", "digest_hour", "digest_opt_out"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"profile_update() got unexpected fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.full_clean()
    profile.save(update_fields=[*fields])
    return profile
