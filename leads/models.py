"""Leads, the events they came from, their follow-ups and the timeline entries of what happened to them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from .contact import InvalidPhone, normalize_email, normalize_phone


class Stage(models.TextChoices):
    NEW = "new", "New"
    ATTEMPTED = "attempted", "Attempted"
    CONNECTED = "connected", "Connected"
    APPOINTMENT_SET = "appointment_set", "Appointment set"
    QUALIFIED = "qualified", "Qualified"
    WON = "won", "Handed to sales / won"
    LOST = "lost", "Lost"
    NURTURE = "nurture", "Nurture"


class ConnectionType(models.TextChoices):
    EVENT_ASKED = "event_asked", "Met at an event: asked us to call"
    EVENT_LIST = "event_list", "Event: badge scan / list"
    REFERRAL = "referral", "Referral"
    INBOUND = "inbound", "Inbound request"
    PRIOR_CONTACT = "prior_contact", "Prior contact by mail or email"
    CUSTOMER = "customer", "Current customer"
    PAST_CUSTOMER = "past_customer", "Past customer"
    COLD = "cold", "Cold"


class WarmthBand(models.TextChoices):
    HOT = "hot", "Hot"
    WARM = "warm", "Warm"
    LUKEWARM = "lukewarm", "Lukewarm"
    COLD = "cold", "Cold"


class Event(models.Model):
    """A trade show or meeting where contacts were gathered."""

    name = models.CharField(max_length=200)
    date = models.DateField(null=True, blank=True)
    place = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "name"]
        constraints = [models.UniqueConstraint(fields=["name", "date"], name="event_unique_name_date")]

    def __str__(self) -> str:
        return f"{self.name} ({self.date:%b %Y})" if self.date else self.name


class Lead(models.Model):
    """A prospect, how we are connected to them, and the denormalised state the warmth engine reads."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=150, blank=True)
    company = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=50, blank=True, help_text="As entered, for display.")
    phone_e164 = models.CharField(max_length=20, blank=True, editable=False)
    # No index of its own: lead_owner_warmth and lead_owner_last_attempt start with it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads", db_index=False
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NEW)
    lost_reason = models.CharField(max_length=200, blank=True)
    connection_type = models.CharField(max_length=20, choices=ConnectionType.choices, default=ConnectionType.COLD)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    research_notes = models.TextField(blank=True, help_text="What you saw or know, to open the call with.")
    do_not_call = models.BooleanField(default=False)

    # Call history, kept current by calls.services.call_log so warmth is a function of this row alone.
    last_conversation_at = models.DateTimeField(null=True, blank=True, help_text="Last two-way conversation.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    unanswered_attempts = models.PositiveSmallIntegerField(default=0, help_text="Since the last conversation.")
    last_appointment_at = models.DateTimeField(null=True, blank=True, help_text="When an appointment was last set.")
    forgot_us_at = models.DateTimeField(null=True, blank=True, help_text="Last call where they did not remember us.")
    not_interested_at = models.DateTimeField(null=True, blank=True)
    stale_snoozed_until = models.DateTimeField(null=True, blank=True)
    # What the lead's calls add up to, for the dashboard (kept by calls.services: call_log, call_facts_refresh).
    first_call_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_conversation_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_appointment_set_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="The first call with the outcome appointment set."
    )
    stale_snooze_reason = models.CharField(max_length=200, blank=True)

    warmth = models.PositiveSmallIntegerField(default=0)
    warmth_band = models.CharField(max_length=10, choices=WarmthBand.choices, default=WarmthBand.COLD)
    warmth_computed_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The import that created the lead, and its first row in that file: the lead's "Imported from" line and what
    # undo removes. Two columns on the row the import writes anyway, not a row of its own (ImportRecord holds the
    # imports that merged into a lead). No index: only undo and a job's deletion look leads up by it, and every
    # imported lead would pay for one.
    import_job = models.ForeignKey(
        "ImportJob", null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="created_leads",
        db_index=False,
    )  # fmt: skip
    import_row = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-warmth", "id"]
        indexes = [
            models.Index(fields=["owner", "-warmth"], name="lead_owner_warmth"),
            models.Index(fields=["-warmth", "id"], name="lead_warmth"),
            models.Index(fields=["stage", "-warmth"], name="lead_stage_warmth"),  # board columns
            models.Index(fields=["owner", "last_attempt_at"], name="lead_owner_last_attempt"),  # cap, sort
            models.Index(fields=["connection_type"], name="lead_connection"),
            # The band filter (a manager's across every lead, a rep's with the owner).
            models.Index(fields=["warmth_band", "owner", "id"], name="lead_band_owner"),
            models.Index(fields=["email"], name="lead_email"),
            models.Index(fields=["phone_e164"], name="lead_phone"),
            # Arrival: the dashboard counts a reader's partial UTC days from the leads (the rest is its summary).
            models.Index(fields=["created_at"], name="lead_created"),
            # The stale list: open, callable leads, the longest quiet first, and (index-only) how many.
            models.Index(
                Coalesce("last_conversation_at", "created_at"),
                # With what the count and the filters read, so the count is index-only.
                *(F(name) for name in ("id", "warmth_band", "last_conversation_at", "created_at", "owner",
                                       "connection_type", "event")),  # fmt: skip
                name="lead_stale_scan",
                condition=Q(do_not_call=False) & ~Q(stage__in=["won", "lost"]),
            ),
            # The few do-not-call leads, which the nav's due badge leaves out (accounts.selectors).
            models.Index(fields=["id"], name="lead_do_not_call", condition=Q(do_not_call=True)),
            # A rep's leads and whether each may be called, index-only: Today's counts (every Today page and call-log
            # POST) join them to the open follow-ups and today's calls. Partial (callable only), it left the calls
            # on do-not-call leads to a read of the rep's every lead row (2.9k pages at 3.3k leads a rep).
            models.Index(fields=["owner", "id"], include=["do_not_call"], name="lead_owner_id"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(warmth__gte=0, warmth__lte=100), name="lead_warmth_0_100"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone or f"Lead {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def clean_fields(self, exclude: Any = None) -> None:
        self.email = normalize_email(self.email)  # before EmailValidator sees the surrounding spaces
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        try:
            self.phone_e164 = normalize_phone(self.phone, region=settings.PHONE_DEFAULT_REGION)
        except InvalidPhone as exc:
            errors["phone"] = str(exc)
        if not (self.first_name.strip() or self.last_name.strip()):
            errors["first_name"] = "Give the lead a first or last name."
        try:
            self.clean_stage()
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)

    def clean_stage(self) -> None:
        """The stage's own rule (leads.services.lead_set_stage checks only this and the stage fields)."""
        if self.stage == Stage.LOST and not self.lost_reason.strip():
            raise ValidationError({"lost_reason": "Say why the lead was lost."})


class FollowUp(models.Model):
    """A call to make: at most one open per lead, enforced by the database."""

    class Reason(models.TextChoices):
        STALE = "stale", "Gone stale"
        CALL_BACK = "call_back", "Requested call-back"
        RETRY = "retry", "No-answer retry"
        INBOUND = "inbound", "New inbound request"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="follow_ups")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    due_at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    status_note = models.CharField(max_length=200, blank=True, help_text="Why it was skipped or snoozed.")
    snoozed_count = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the system scheduled it.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="follow_up_owner_due"),
            models.Index(fields=["status", "due_at"], name="follow_up_status_due"),
            # Each lead's open follow-up with its due time, so Today's counts read them from the index, not the table.
            models.Index(fields=["lead", "due_at"], condition=Q(status="open"), name="follow_up_open_lead_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["lead"], condition=Q(status="open"), name="follow_up_one_open_per_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} for {self.lead} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def created_by_system(self) -> bool:
        return self.created_by_id is None


class TimelineEntry(models.Model):
    """What happened to a lead that has no table of its own: stage changes, imports, merges, edits."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STAGE_CHANGED = "stage_changed", "Stage changed"
        OWNER_CHANGED = "owner_changed", "Owner changed"
        DO_NOT_CALL = "do_not_call", "Do-not-call changed"
        IMPORTED = "imported", "Imported"
        MET_AGAIN = "met_again", "Met again"
        MERGED = "merged", "Merged"
        SNOOZED = "snoozed", "Stale flag snoozed"

    # No index of its own: timeline_lead_at starts with it.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="timeline_entries", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "-at"], name="timeline_lead_at")]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return self.summary


# --- Imports (leads.import_services owns the writes) -------------------------------------------------


class ImportJob(models.Model):
    """One uploaded list: its file, the choices made for it, where the work stands and what it did."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Waiting for the mapping"
        CHECKING = "checking", "Dry run in progress"
        CHECKED = "checked", "Dry run done: waiting for confirmation"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        UNDONE = "undone", "Undone"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_jobs"
    )
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255, help_text="The name the file was uploaded with.")
    stored_path = models.CharField(max_length=500, help_text="Relative to MEDIA_ROOT.")
    file_size = models.PositiveBigIntegerField(default=0)
    headers = models.JSONField(default=list, blank=True)
    header_row = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)

    # Settings chosen for the import.
    mapping = models.JSONField(default=list, blank=True, help_text="Lead field per column; empty = ignored.")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_jobs")
    event_name = models.CharField(max_length=200, blank=True)
    event_date = models.DateField(null=True, blank=True)
    connection_type = models.CharField(
        max_length=20, choices=ConnectionType.choices, default=ConnectionType.EVENT_LIST
    )
    owner_ids = models.JSONField(default=list, blank=True, help_text="One rep, or several shared round-robin.")

    # Progress, written with each committed batch so a re-run resumes where the last one stopped.
    run_token = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(null=True, blank=True, help_text="Known after the dry run.")
    rows_processed = models.PositiveIntegerField(default=0)
    progress_percent = models.PositiveSmallIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    merged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    warning_samples = models.JSONField(default=list, blank=True, help_text="The first warnings, row and message.")
    check_report = models.JSONField(default=dict, blank=True, help_text="The dry run's counts.")
    error_path = models.CharField(max_length=500, blank=True, help_text="Error file, relative to MEDIA_ROOT.")
    error_file_bytes = models.PositiveBigIntegerField(default=0, help_text="Committed length of the error file.")
    failure = models.TextField(blank=True, help_text="Why the job failed, for the admin.")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at"], name="import_job_created")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def source_line(self) -> str:
        """What the timeline says of a lead this import created."""
        return (f"Imported from {self.file_name}" + (f" ({self.event_name})" if self.event_name else ""))[:300]


class ImportMapping(models.Model):
    """The column mapping an admin chose, remembered for the next file with the same header."""

    header_key = models.CharField(max_length=64, unique=True, help_text="sha256 of the normalised header row.")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return ", ".join(str(header) for header in self.headers)[:200]


class ImportRecord(models.Model):
    """An import that merged into a lead (a row matched it: "met again"): undo keeps such leads, and a later
    batch of the same job knows the lead was met already. The import that created a lead is the lead's own
    `import_job`."""

    # Neither has an index of its own: import_record_one_per_lead (job, lead) starts with the job,
    # import_record_lead (lead, job) with the lead.
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records", db_index=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="import_records", db_index=False)
    row_number = models.PositiveIntegerField(help_text="The first row of the file that matched this lead.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "lead"], name="import_record_one_per_lead")]
        # A job's records (undo, the referral rescore) read the job's part of import_record_one_per_lead.
        indexes = [models.Index(fields=["lead", "job"], name="import_record_lead")]

    def __str__(self) -> str:
        return f"Merged into lead {self.lead_id} by import {self.job_id}"
