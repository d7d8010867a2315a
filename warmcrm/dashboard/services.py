"""Writes of the dashboard app: the daily warmth-band snapshot, one set-based INSERT ... SELECT."""

from __future__ import annotations

from datetime import date

from django.db import connection, transaction
from django.db.models import Count

from leads.models import Lead

from .models import BandSnapshot


@transaction.atomic
def band_snapshot_take(*, day: date) -> int:
    """Count leads per band, owner, connection type and event into BandSnapshot rows for `day`.

    Safe to run twice: the day's rows are replaced. The counting happens in the database: the grouped
    SELECT that Django builds for values().annotate(Count) becomes the source of one INSERT.
    """
    BandSnapshot.objects.filter(date=day).delete()
    grouped = (
        Lead.objects.order_by().values("warmth_band", "owner_id", "connection_type", "event_id").annotate(n=Count("pk"))
    )
    select_sql, params = grouped.query.sql_with_params()
    table = connection.ops.quote_name(BandSnapshot._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (date, band, owner_id, connection_type, event_id, count) "  # noqa: S608 # nosec B608 # no user input
            f"SELECT %s, grouped.* FROM ({select_sql}) AS grouped",
            [connection.ops.adapt_datefield_value(day), *params],
        )
        return cursor.rowcount
