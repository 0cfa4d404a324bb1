import datetime as dt

from pipelines.core.weeks import last_sunday, week_endings


def test_last_sunday() -> None:
    # 25 Nov 2026 is a Wednesday; the Sunday before is 22 Nov.
    assert last_sunday(dt.date(2026, 11, 25)) == dt.date(2026, 11, 22)
    assert last_sunday(dt.date(2026, 11, 22)) == dt.date(2026, 11, 22)


def test_week_endings_are_sundays_inside_the_range() -> None:
    # From Wednesday 4 Nov to Sunday 22 Nov 2026: Sundays 8, 15, 22.
    got = week_endings(dt.date(2026, 11, 4), dt.date(2026, 11, 22))
    assert got == [dt.date(2026, 11, 8), dt.date(2026, 11, 15), dt.date(2026, 11, 22)]
    assert week_endings(dt.date(2026, 11, 23), dt.date(2026, 11, 28)) == []
