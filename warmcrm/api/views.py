"""The /api/v1/ endpoints. Thin: scope through leads.selectors, validate with a serializer, call one service.

Every lead-related queryset starts from leads_visible_to(request.user), so a token sees exactly what its
user sees in the browser and another rep's lead is a 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from calls.models import Call
from calls.services import call_log
from leads import selectors as lead_selectors
from leads import services as lead_services
from leads.models import Event, FollowUp, Lead
from referrals.forms import ReferrerSearchForm
from referrals.models import Referral, ReferralSource

from . import inbound, services
from .filters import CallFilter, FollowUpFilter, LeadFilter
from .models import ApiToken
from .permissions import CanPostInbound, ManagersWrite
from .serializers import (
    CallSerializer,
    EventSerializer,
    FollowUpCompleteSerializer,
    FollowUpSerializer,
    FollowUpSnoozeSerializer,
    InboundLeadSerializer,
    InboundResultSerializer,
    LeadSerializer,
    ReferralSerializer,
    ReferralSourceSerializer,
    WarmthSerializer,
)

ID_PATTERN = "[0-9]{1,18}"  # anything else is not an id: a JSON 404 from the catch-all below, not a 500


class NoDeleteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read, create and change; nothing is deleted through the API (leads are closed as lost)."""


@extend_schema_view(
    list=extend_schema(summary="List leads", description="Same filters as the leads page; sorted warmest first."),
    retrieve=extend_schema(summary="Read a lead"),
    create=extend_schema(summary="Create a lead", description="Reps own what they create; managers may set owner."),
    update=extend_schema(summary="Replace a lead's editable fields"),
    partial_update=extend_schema(summary="Change some fields of a lead"),
)
class LeadViewSet(NoDeleteViewSet):
    lookup_value_regex = ID_PATTERN
    serializer_class = LeadSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = LeadFilter

    def get_queryset(self) -> QuerySet[Lead]:
        # The leads page's own base query (leads_visible_to, the row's joins, the next follow-up's due time).
        return lead_selectors.leads_for_list(self.request.user).order_by("-warmth", "id")

    def perform_create(self, serializer: BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        owner = data.pop("owner", self.request.user)  # your own lead unless you say otherwise
        lead = services.lead_create_from_api(actor=self.request.user, owner=owner, **data)
        serializer.instance = self.get_queryset().get(pk=lead.pk)

    def perform_update(self, serializer: BaseSerializer) -> None:
        services.lead_change_from_api(lead=serializer.instance, actor=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    @extend_schema(summary="A lead's warmth and what it is made of", responses=WarmthSerializer)
    @action(detail=True, methods=["get"])
    def warmth(self, request: Request, pk: str | None = None) -> Response:
        lead = lead_selectors.lead_get_for(request.user, int(pk))
        return Response(WarmthSerializer(lead_selectors.lead_warmth(lead)).data)

    @extend_schema(methods=["get"], summary="A lead's calls, newest first", responses=CallSerializer(many=True))
    @extend_schema(
        methods=["post"],
        summary="Log a call on this lead",
        description="Does everything the call-logging page does: call history, stage, follow-ups and warmth.",
        request=CallSerializer,
        responses={201: CallSerializer},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def calls(self, request: Request, pk: str | None = None) -> Response:
        lead = lead_selectors.lead_get_for(request.user, int(pk))
        if request.method == "GET":
            calls = lead.calls.select_related("rep").order_by("-called_at", "-id")[:500]
            return Response(CallSerializer(calls, many=True).data)
        serializer = CallSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        call = call_log(lead=lead, rep=request.user, **serializer.validated_data)
        return Response(CallSerializer(call).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List calls on the leads you can see"), retrieve=extend_schema(summary="Read a call")
)
class CallViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID_PATTERN
    serializer_class = CallSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CallFilter

    def get_queryset(self) -> QuerySet[Call]:
        return (
            Call.objects.filter(lead__in=lead_selectors.leads_visible_to(self.request.user))
            .select_related("rep")
            .order_by("-called_at", "-id")
        )


@extend_schema_view(
    list=extend_schema(
        summary="My follow-ups",
        description="Yours only, open ones unless `status` says otherwise, soonest first.",
        parameters=[OpenApiParameter("status", enum=[*FollowUp.Status.values, "any"], default="open")],
    ),
    retrieve=extend_schema(summary="Read a follow-up"),
)
class FollowUpViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID_PATTERN
    serializer_class = FollowUpSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = FollowUpFilter

    def get_queryset(self) -> QuerySet[FollowUp]:
        if getattr(self, "swagger_fake_view", False):
            return FollowUp.objects.none()  # the schema generator has no user to scope by
        follow_ups = lead_selectors.follow_ups_visible_to(self.request.user).select_related("lead")
        if self.action == "list":
            follow_ups = follow_ups.filter(owner=self.request.user)
        return follow_ups.order_by("due_at", "id")

    @extend_schema(summary="Mark a follow-up done", request=FollowUpCompleteSerializer, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        follow_up = self.get_object()
        serializer = FollowUpCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if follow_up.status != FollowUp.Status.OPEN:
            raise ValidationError(f"This follow-up is already {follow_up.get_status_display().lower()}.")
        follow_up = lead_services.follow_up_complete(
            follow_up=follow_up, actor=request.user, **serializer.validated_data
        )
        return Response(FollowUpSerializer(follow_up).data)

    @extend_schema(summary="Snooze a follow-up", request=FollowUpSnoozeSerializer, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        follow_up = self.get_object()
        serializer = FollowUpSnoozeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        follow_up = lead_services.follow_up_snooze(follow_up=follow_up, actor=request.user, **serializer.validated_data)
        return Response(FollowUpSerializer(follow_up).data)


@extend_schema_view(
    list=extend_schema(summary="List events"),
    retrieve=extend_schema(summary="Read an event"),
    create=extend_schema(summary="Create an event (managers)"),
    update=extend_schema(summary="Change an event (managers)"),
    partial_update=extend_schema(summary="Change an event (managers)"),
)
class EventViewSet(NoDeleteViewSet):
    lookup_value_regex = ID_PATTERN
    serializer_class = EventSerializer
    queryset = Event.objects.order_by("-date", "name", "id")

    def get_permissions(self) -> list[Any]:
        return [*super().get_permissions(), ManagersWrite()]

    def get_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer:
        serializer = super().get_serializer(*args, **kwargs)
        serializer.validators = []  # the model's unique (name, date) check says it in words, via full_clean
        return serializer

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.event_save(event=Event(), actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        services.event_save(event=serializer.instance, actor=self.request.user, **serializer.validated_data)


@extend_schema_view(
    list=extend_schema(
        summary="List referral sources", parameters=[OpenApiParameter("q", str, description="Name or organisation.")]
    ),
    retrieve=extend_schema(summary="Read a referral source"),
    create=extend_schema(summary="Add a referral source"),
    update=extend_schema(summary="Change a referral source"),
    partial_update=extend_schema(summary="Change a referral source"),
)
class ReferralSourceViewSet(NoDeleteViewSet):
    lookup_value_regex = ID_PATTERN
    serializer_class = ReferralSourceSerializer

    def get_queryset(self) -> QuerySet[ReferralSource]:
        sources = ReferralSource.objects.order_by("name", "id")
        if self.action != "list":
            return sources
        search = ReferrerSearchForm(self.request.query_params)  # the page's search form: it refuses a NUL
        if not search.is_valid():
            raise ValidationError({"q": search.errors["q"]})
        text = search.cleaned_data["q"][:200]
        if text:
            sources = sources.filter(name__icontains=text) | sources.filter(organisation__icontains=text)
        return sources

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.referral_source_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        services.referral_source_update(
            source=serializer.instance, actor=self.request.user, **serializer.validated_data
        )


@extend_schema_view(
    list=extend_schema(summary="List referrals of the leads you can see"),
    retrieve=extend_schema(summary="Read a referral"),
    create=extend_schema(
        summary="Record who referred a lead", description="The lead's connection becomes “referral”; warmth updates."
    ),
)
class ReferralViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID_PATTERN
    serializer_class = ReferralSerializer

    def get_queryset(self) -> QuerySet[Referral]:
        return (
            Referral.objects.filter(lead__in=lead_selectors.leads_visible_to(self.request.user))
            .select_related("source")
            .order_by("-referred_on", "-id")
        )

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.referral_record(actor=self.request.user, **serializer.validated_data)


class InboundLeadView(APIView):
    """POST a website-form submission. Needs an admin's token or a website-form token."""

    permission_classes = [*APIView.permission_classes, CanPostInbound]
    accepts_inbound_tokens = True

    @extend_schema(
        summary="Inbound lead from a website form",
        description=(
            "Creates an “inbound request” lead, or merges into the lead with the same email (else phone): blank "
            "fields are filled, nothing is overwritten. A new lead goes round-robin to the active reps. A follow-up "
            "is scheduled within the hour. 201 when a lead was created, 200 when merged."
        ),
        request=InboundLeadSerializer,
        responses={201: InboundResultSerializer, 200: InboundResultSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = InboundLeadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        result = inbound.inbound_lead_receive(actor=request.user, token=token, **serializer.validated_data)
        body = {
            "lead": result.lead.pk,
            "created": result.created,
            "filled_fields": list(result.filled_fields),
            "owner": result.lead.owner_id,
            "follow_up_id": result.follow_up.pk if result.follow_up else None,
            "follow_up_due_at": result.follow_up.due_at if result.follow_up else None,
        }
        return Response(
            InboundResultSerializer(body).data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def endpoint_not_found(request: Request, rest: str = "") -> Response:
    """Any other /api/v1/ URL: the API's error object, not the HTML 404 page."""
    hint = "" if request.path.endswith("/") else " API URLs end with a slash."
    raise NotFound(f"There is no API endpoint at {request.path}.{hint}")
