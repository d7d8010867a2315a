"""Each user's profile: their time zone, working days and morning-digest preferences."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from timezone_field import TimeZoneField

WEEKDAYS = (
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
)
MONDAY_TO_FRIDAY = [0, 1, 2, 3, 4]


def default_working_days() -> list[int]:
    return list(MONDAY_TO_FRIDAY)


def default_time_zone() -> str:
    return settings.TIME_ZONE


def default_digest_hour() -> int:
    return settings.DIGEST_DEFAULT_HOUR


class Profile(models.Model):
    """One per user, created on first use (accounts.selectors.profile_for)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    time_zone = TimeZoneField(default=default_time_zone, use_pytz=False, help_text="'Today' is counted in this zone.")
    working_days = models.JSONField(default=default_working_days, help_text="Weekday numbers, Monday = 0.")
    digest_hour = models.PositiveSmallIntegerField(
        default=default_digest_hour,
        validators=[MaxValueValidator(23)],
        help_text="Local hour the morning digest is sent from.",
    )
    digest_opt_out = models.BooleanField(default=False, help_text="No morning digest email.")
    last_digest_on = models.DateField(
        null=True, blank=True, editable=False, help_text="Local date of the last digest sent: never twice a day."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(digest_hour__lte=23), name="profile_digest_hour_0_23"),
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    def clean(self) -> None:
        days = self.working_days
        if not isinstance(days, list) or not all(isinstance(day, int) and 0 <= day <= 6 for day in days):
            raise ValidationError({"working_days": "Pick working days from Monday to Sunday."})
        if not days:
            raise ValidationError({"working_days": "Pick at least one working day."})
        self.working_days = sorted(set(days))
