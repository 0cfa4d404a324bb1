"""Weekly rent balances, generated week by week on demand (shared by every style)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from pipelines.core.weeks import last_sunday
from pipelines.synth.landlord import Landlord
from pipelines.synth.stock import NO_END, date_of, day_of


def rent_weeks(landlord: Landlord) -> Iterator[tuple[int, pl.DataFrame]]:
    """(week_ending day, one row per live tenancy) for each week of the rent window, oldest first.

    Balances evolve weekly: charges; payments weekly, fortnightly or four-weekly (Universal Credit);
    occasional missed payments and catch-up; a five-week wait on new Universal Credit claims. Planted
    households pay little for some months from their arrears onset, after a clear account.
    """
    cal, ten, stock = landlord.cal, landlord.ten, landlord.stock
    rng = np.random.default_rng(landlord.rent_plan.seed + 104729)
    last_week = day_of(last_sunday(date_of(cal.as_of)))
    burn_in = 26
    first_sim = cal.rent_start - 7 * burn_in
    idx = np.flatnonzero(ten.end >= first_sim - 6)
    n = len(idx)
    beds = stock.bedrooms[ten.home[idx]]
    kind = stock.ptype[ten.home[idx]]
    base = (
        80
        + 16 * beds
        + np.where(kind == "house", 8, np.where(kind == "bungalow", 5, 0))
        + rng.normal(0, 5, n)
    )
    base = np.clip(base, 90, 150)
    cycle = rng.choice([1, 2, 4], size=n, p=[0.60, 0.18, 0.22])
    uc = (cycle == 4) & (rng.random(n) < 0.55)  # Universal Credit housing costs: four-weekly, in arrears
    offset = rng.integers(0, 4, size=n)
    advance = ~uc & (rng.random(n) < 0.5)  # pays ahead: keeps a cycle's rent in credit
    late = (cycle == 1) & ~advance & (rng.random(n) < 0.15)  # pays a week behind: "technical" arrears
    p_miss = np.where(rng.random(n) < 0.85, rng.uniform(0.0, 0.04, n), rng.uniform(0.04, 0.15, n))
    struggling = rng.random(n) < 0.07
    pay_ratio = np.where(struggling, rng.uniform(0.80, 0.97, n), 1.0)
    catch_rate = rng.uniform(0.1, 0.4, n)
    lag_week = np.where(uc & (rng.random(n) < 0.15), rng.integers(0, burn_in + 52, n), -100)
    onset = np.full(n, NO_END)
    pos = {int(t): i for i, t in enumerate(idx.tolist())}
    for t, day in landlord.rent_plan.onset.items():
        i = pos.get(t)
        if i is None:
            continue
        # A clear account before the onset: weekly, in advance, never missed.
        onset[i] = day
        cycle[i], uc[i], advance[i], late[i], p_miss[i], pay_ratio[i], lag_week[i] = (
            1,
            False,
            True,
            False,
            0.0,
            1.0,
            -100,
        )
    drop_ratio = rng.uniform(0.1, 0.4, n)
    abuse_days = rng.integers(16, 41, size=n) * 7  # then an arrangement starts to clear it
    started = np.zeros(n, dtype=bool)
    balance = np.zeros(n)
    refs = ten.refs(idx)
    start, end = ten.start[idx], ten.end[idx]
    week_i = 0
    for week in range(first_sim, last_week + 1, 7):
        live = (start <= week) & (end >= week - 6)
        new = live & ~started
        started |= live
        lag_week = np.where(
            new & uc & (start > first_sim - 7), week_i, lag_week
        )  # a new claim: five weeks' wait
        years_in = (week - first_sim) // 364
        due = np.minimum(base * 1.04**years_in, 160.0)
        balance += np.where(live, due, 0.0)
        # On a payday the household pays what brings the account to its usual level (nil, or a cycle in
        # credit), up to the cycle's rent plus a little towards any arrears.
        payday = ((week_i - offset) % cycle == 0) & (rng.random(n) >= p_miss)
        target = np.where(advance, -cycle * due, np.where(late, due, 0.0))
        owed = np.clip(balance - target, 0.0, cycle * due * (1 + catch_rate))
        pay = np.where(payday, owed * pay_ratio, 0.0)
        pay = np.where((week_i >= lag_week) & (week_i < lag_week + 5), 0.0, pay)
        # Large arrears are eventually cleared down by an arrangement or a lump sum (DHP, backdated benefit).
        lump = (balance > 8 * due) & (rng.random(n) < 0.1)
        pay = np.where(lump, balance - 2 * due, pay)
        pay = np.where((week >= onset) & (week < onset + abuse_days), due * drop_ratio, pay)
        balance = np.round(balance - np.where(live, pay, 0.0), 2)
        week_i += 1
        if week < cal.rent_start:
            continue
        rows = np.flatnonzero(live)
        yield (
            week,
            pl.DataFrame(
                {
                    "tenancy_ref": refs.gather(rows),
                    "week_ending": pl.Series(np.full(len(rows), week), dtype=pl.Int32).cast(pl.Date),
                    "balance_gbp": balance[rows],
                    "weekly_charge_gbp": np.round(due[rows], 2),
                }
            ),
        )
