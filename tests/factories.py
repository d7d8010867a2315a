"""factory_boy factories for every model; users come with a role."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from factory.django import DjangoModelFactory

from calls.models import Call, Outcome
from leads.models import ConnectionType, Event, FollowUp, Lead
from referrals.models import Referral, ReferralSource


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pw-for-tests-123")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
            if extracted == "admin":
                self.is_staff = True
                self.save(update_fields=["is_staff"])


class EventFactory(DjangoModelFactory):
    class Meta:
        model = Event

    name = factory.Sequence(lambda n: f"Trade Show {n}")
    date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=10))
    place = "Boston"


class LeadFactory(DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    phone = factory.Sequence(lambda n: f"(415) 555-{n % 10000:04d}")
    phone_e164 = factory.LazyAttribute(lambda lead: "+1415555" + lead.phone[-4:])
    owner = factory.SubFactory(UserFactory)
    connection_type = ConnectionType.EVENT_ASKED


class ReferralSourceFactory(DjangoModelFactory):
    class Meta:
        model = ReferralSource

    name = factory.Faker("name")
    organisation = factory.Faker("company")
    kind = ReferralSource.Kind.CUSTOMER


class ReferralFactory(DjangoModelFactory):
    class Meta:
        model = Referral

    source = factory.SubFactory(ReferralSourceFactory)
    lead = factory.SubFactory(LeadFactory, connection_type=ConnectionType.REFERRAL)


class CallFactory(DjangoModelFactory):
    class Meta:
        model = Call

    lead = factory.SubFactory(LeadFactory)
    rep = factory.LazyAttribute(lambda call: call.lead.owner)
    outcome = Outcome.CONNECTED_OTHER


class FollowUpFactory(DjangoModelFactory):
    class Meta:
        model = FollowUp

    lead = factory.SubFactory(LeadFactory)
    owner = factory.LazyAttribute(lambda follow_up: follow_up.lead.owner)
    due_at = factory.LazyFunction(timezone.now)
    reason = FollowUp.Reason.MANUAL
