"""What the API reads and writes. Validation of meaning stays in the models and services; these check shape."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from calls.models import Call
from leads.filters import owners as lead_owners
from leads.models import Event, FollowUp, Lead
from leads.selectors import lead_connection_line, leads_visible_to
from referrals.models import Referral, ReferralSource


class VisibleLeadField(serializers.PrimaryKeyRelatedField):
    """A lead id the caller may see; anyone else's lead reads as missing, like a 404."""

    default_error_messages = {"does_not_exist": "No lead with id {pk_value} that you can see."}

    def get_queryset(self) -> Any:
        return leads_visible_to(self.context["request"].user)


class LeadSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=lead_owners(None), allow_null=True, required=False, help_text="A rep or manager (managers only)."
    )
    owner_name = serializers.SerializerMethodField()
    event = serializers.PrimaryKeyRelatedField(queryset=Event.objects.all(), allow_null=True, required=False)
    event_name = serializers.SerializerMethodField()
    connection = serializers.SerializerMethodField(help_text="How we are connected, as the lead page says it.")
    next_follow_up_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = Lead
        fields = [
            "id",
            "first_name",
            "last_name",
            "full_name",
            "title",
            "company",
            "email",
            "phone",
            "phone_e164",
            "owner",
            "owner_name",
            "stage",
            "lost_reason",
            "connection_type",
            "connection",
            "event",
            "event_name",
            "research_notes",
            "do_not_call",
            "warmth",
            "warmth_band",
            "last_conversation_at",
            "last_attempt_at",
            "unanswered_attempts",
            "next_follow_up_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "phone_e164",
            "warmth",
            "warmth_band",
            "last_conversation_at",
            "last_attempt_at",
            "unanswered_attempts",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"email": {"validators": []}}  # normalised and validated by the model (trims, lowercases)

    def get_owner_name(self, lead: Lead) -> str:
        owner = lead.owner
        return (owner.get_full_name() or owner.get_username()) if owner else ""

    def get_event_name(self, lead: Lead) -> str:
        return str(lead.event) if lead.event_id else ""

    def get_connection(self, lead: Lead) -> str:
        return lead_connection_line(lead)


class WarmthComponentSerializer(serializers.Serializer):
    label = serializers.CharField()
    points = serializers.IntegerField()


class WarmthSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=0, max_value=100)
    band = serializers.CharField()
    components = WarmthComponentSerializer(many=True)


class CallSerializer(serializers.ModelSerializer):
    rep_name = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "lead",
            "rep",
            "rep_name",
            "called_at",
            "direction",
            "outcome",
            "duration_seconds",
            "notes",
            "call_back_on",
            "appointment_at",
            "created_at",
        ]
        read_only_fields = ["lead", "rep", "created_at"]
        extra_kwargs = {
            "called_at": {"required": False, "help_text": "Defaults to now."},
            "duration_seconds": {"max_value": 24 * 60 * 60},
        }

    def get_rep_name(self, call: Call) -> str:
        return (call.rep.get_full_name() or call.rep.get_username()) if call.rep else ""


class FollowUpSerializer(serializers.ModelSerializer):
    lead_name = serializers.SerializerMethodField()
    lead_phone = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "lead",
            "lead_name",
            "lead_phone",
            "owner",
            "due_at",
            "reason",
            "status",
            "status_note",
            "snoozed_count",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_lead_name(self, follow_up: FollowUp) -> str:
        return str(follow_up.lead)

    def get_lead_phone(self, follow_up: FollowUp) -> str:
        return follow_up.lead.phone


class FollowUpCompleteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class FollowUpSnoozeSerializer(serializers.Serializer):
    until = serializers.DateTimeField(help_text="When it is due again; in the future.")
    reason = serializers.CharField(max_length=200, allow_blank=True, help_text="Why it can wait.")


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "name", "date", "place", "created_at"]
        read_only_fields = ["created_at"]


class ReferralSourceSerializer(serializers.ModelSerializer):
    lead = VisibleLeadField(allow_null=True, required=False, help_text="The lead this referrer is, if any.")

    class Meta:
        model = ReferralSource
        fields = ["id", "name", "kind", "organisation", "email", "phone", "phone_e164", "lead", "notes", "created_at"]
        read_only_fields = ["phone_e164", "created_at"]
        extra_kwargs = {"email": {"validators": []}}


class ReferralSerializer(serializers.ModelSerializer):
    lead = VisibleLeadField()
    source_name = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = ["id", "source", "source_name", "lead", "referred_on", "note", "created_by", "created_at"]
        read_only_fields = ["created_by", "created_at"]
        validators: list[Any] = []  # "one referral per lead" is checked by the service, with a clear message

    def get_source_name(self, referral: Referral) -> str:
        return str(referral.source)


class InboundLeadSerializer(serializers.Serializer):
    """A website-form submission. Email or phone is required; name is required."""

    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    message = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    page = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="Which form or page sent it."
    )


class InboundResultSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False when the request was merged into an existing lead.")
    filled_fields = serializers.ListField(child=serializers.CharField(), help_text="Blank fields the merge filled.")
    owner = serializers.IntegerField(allow_null=True)
    follow_up_id = serializers.IntegerField(allow_null=True)
    follow_up_due_at = serializers.DateTimeField(allow_null=True)
