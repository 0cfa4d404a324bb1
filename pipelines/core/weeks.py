"""The landlord's week: lists are for the week ending on a Sunday."""

from __future__ import annotations

import datetime as dt


def last_sunday(today: dt.date) -> dt.date:
    """The Sunday on or before ``today``."""
    return today - dt.timedelta(days=(today.weekday() + 1) % 7)


def week_endings(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every Sunday from the first on or after ``start`` to the last on or before ``end``."""
    first = start + dt.timedelta(days=(6 - start.weekday()) % 7)
    return [first + dt.timedelta(weeks=i) for i in range(max(0, (end - first).days // 7 + 1))]
