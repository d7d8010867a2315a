"""The ICS document of a user's follow-ups and appointments (RFC 5545, through the icalendar package)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from .selectors import CalendarItem


def calendar_ics(items: Iterable[CalendarItem], *, name: str, lead_url: Callable[[int], str], now: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//WarmCRM//Follow-ups//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-published-ttl", "PT15M")  # calendar apps that honour it refresh every 15 minutes
    for item in items:
        event = Event()
        url = lead_url(item.lead_id)
        event.add("uid", item.uid)
        event.add("dtstamp", now)
        event.add("dtstart", item.starts_at)
        event.add("dtend", item.starts_at + timedelta(minutes=item.minutes))
        event.add("summary", item.summary)
        event.add("description", f"{item.description}\n{url}")
        event.add("url", url)
        calendar.add_component(event)
    return calendar.to_ical()
