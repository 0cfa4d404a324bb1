"""The household features as an analyst would write them in pandas: the anchor for the SQL models' speed.

Deliberately the ordinary way: load the raw tables into DataFrames, take the latest version of each record with
``sort_values`` + ``drop_duplicates``, then per household ``groupby(...).apply`` with Python functions, rolling
windows on a date index, peers with ``groupby().transform``, ASB by substring matching, arrears by walking each
tenancy's weekly balances. Comparable to ``sql/marts/household_features.sql`` (counts, recency-weighted counts,
bursts, category mix, look-alike discounts for tenancy start / communal / void / police reference, peer rate,
recharges, ASB lens, arrears onset), not a column-for-column copy: block clusters, planned programmes, incidents
and corroboration are left out, so the pandas side does less work than the SQL side.

Used by ``benchmarks/bench_scale.py`` (step ``features``); not part of the pipeline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

TABLES = {
    "repairs": "job_ref, property_ref, tenancy_ref, reported_at, priority, status, categories, location, "
    "has_police_ref, is_communal_text, known_on, file_id, source_row",
    "tenancies": "tenancy_ref, property_ref, start_date, end_date, known_on, file_id, source_row",
    "properties": "property_ref, block_ref, estate, property_type, bedrooms, known_on, file_id, source_row",
    "asb": "case_ref, tenancy_ref, opened_at, category, role, known_on, file_id, source_row",
    "recharges": "recharge_ref, tenancy_ref, raised_at, amount_gbp, categories, known_on, file_id, source_row",
    "rent": "tenancy_ref, week_ending, balance_gbp, known_on, file_id, source_row",
}
KEYS = {
    "repairs": ["job_ref"],
    "tenancies": ["tenancy_ref"],
    "properties": ["property_ref"],
    "asb": ["case_ref", "tenancy_ref"],
    "recharges": ["recharge_ref"],
    "rent": ["tenancy_ref", "week_ending"],
}


def load_raw(con: Any) -> dict[str, pd.DataFrame]:
    """Every raw table the features need, as pandas frames (free text is not needed: classification is stored)."""
    return {name: con.sql(f"select {cols} from raw_{name}").df() for name, cols in TABLES.items()}


def _latest(frame: pd.DataFrame, keys: list[str], as_of: dt.date) -> pd.DataFrame:
    frame = frame[frame["known_on"] <= pd.Timestamp(as_of)]
    frame = frame.sort_values(["known_on", "file_id", "source_row"])
    return frame.drop_duplicates(keys, keep="last")


def household_features(raw: dict[str, pd.DataFrame], settings: Any, as_of: dt.date) -> pd.DataFrame:
    """One row per tenancy live on ``as_of`` with its red-flag, recharge, ASB, arrears and peer features."""
    f = settings.features
    today = pd.Timestamp(as_of)
    data = {name: _latest(frame, KEYS[name], as_of) for name, frame in raw.items()}

    tenancies = data["tenancies"]
    tenancies = tenancies[
        (tenancies["start_date"] <= today) & (tenancies["end_date"].isna() | (tenancies["end_date"] >= today))
    ]
    households = tenancies.merge(
        data["properties"].drop(columns=["known_on", "file_id", "source_row"]), on="property_ref", how="left"
    )
    long_start = today - pd.Timedelta(days=f.long_window_days)
    households["counted_from"] = households["start_date"].where(
        households["start_date"] > long_start, long_start
    )

    # Red flags and their look-alikes, row by row as an analyst would.
    repairs = data["repairs"].copy()
    repairs["reported_on"] = repairs["reported_at"].dt.normalize()
    repairs = repairs[repairs["reported_on"] <= today]
    repairs = repairs[repairs["categories"].apply(lambda c: c is not None and len(c) > 0)]
    repairs = repairs[~repairs["status"].fillna("").str.lower().isin(["cancelled", "canceled"])]
    repairs = repairs.merge(households[["tenancy_ref", "start_date", "counted_from"]], on="tenancy_ref")

    def discount(row: pd.Series) -> str | None:
        cats = set(row["categories"])
        if row["is_communal_text"]:
            return "communal"
        if str(row["priority"]).lower() == "void":
            return "void"
        if (
            cats & {"lock_change", "lost_keys"}
            and (row["reported_on"] - row["start_date"]).days <= f.tenancy_start_grace_days
        ):
            return "tenancy_start"
        if row["has_police_ref"]:
            return "police_reference"
        return None

    repairs["discount_reason"] = repairs.apply(discount, axis=1)
    repairs = repairs[repairs["reported_on"] >= repairs["counted_from"]]
    repairs["age_days"] = (today - repairs["reported_on"]).dt.days
    repairs["recency_weight"] = 0.5 ** (repairs["age_days"] / f.recency_half_life_days)
    counted = repairs[repairs["discount_reason"].isna()]

    def flags(group: pd.DataFrame) -> pd.Series:
        g = group.sort_values("reported_on").set_index("reported_on")
        burst = g["recency_weight"].rolling(f"{f.burst_window_days}D").count()
        recent = g["age_days"] < f.recent_window_days
        cats_long = {c for cs in g["categories"] for c in cs}
        cats_recent = {c for cs in g.loc[recent.values, "categories"] for c in cs}
        out = {
            "flags_long": len(g),
            "flags_recent": int(recent.sum()),
            "flags_short": int((g["age_days"] < f.short_window_days).sum()),
            "flags_weighted": g["recency_weight"].sum(),
            "max_burst_flags": int(burst[recent.values].max()) if recent.any() else 0,
            "first_flag_on": g.index.min(),
            "last_flag_on": g.index.max(),
            "distinct_categories_long": len(cats_long),
            "distinct_categories_recent": len(cats_recent),
        }
        for cat in ("lock_change", "door_damage", "window_damage", "lost_keys", "forced_entry"):
            has = g["categories"].apply(lambda cs, cat=cat: cat in cs)
            if cat in ("lock_change", "door_damage"):
                for loc in ("external", "internal"):
                    out[f"{cat}_{loc}_long"] = int((has & (g["location"] == loc)).sum())
                out[f"{cat}_unknown_long"] = int((has & ~g["location"].isin(["external", "internal"])).sum())
            else:
                out[f"{cat}_long"] = int(has.sum())
        return pd.Series(out)

    flag_features = counted.groupby("tenancy_ref").apply(flags)
    discounts = (
        repairs[repairs["discount_reason"].notna()]
        .groupby(["tenancy_ref", "discount_reason"])
        .size()
        .unstack(fill_value=0)
        .add_prefix("discounted_")
    )

    # Recharges: damage = the recharge's reason was classified into red-flag categories.
    recharges = data["recharges"].merge(households[["tenancy_ref", "counted_from"]], on="tenancy_ref")
    recharges = recharges[recharges["raised_at"] >= recharges["counted_from"]]
    recharges["is_damage"] = recharges["categories"].apply(lambda c: c is not None and len(c) > 0)
    recharges["weight"] = 0.5 ** ((today - recharges["raised_at"]).dt.days / f.recency_half_life_days)
    recharge_features = recharges.groupby("tenancy_ref").apply(
        lambda g: pd.Series(
            {
                "recharges_long": len(g),
                "recharges_gbp_long": float(g["amount_gbp"].astype(float).sum()),
                "damage_recharges_long": int(g["is_damage"].sum()),
                "damage_recharges_weighted": g.loc[g["is_damage"], "weight"].sum(),
            }
        )
    )

    # ASB through the lens: a substring test per term, per row.
    terms = [t.lower() for t in f.asb_lens_terms]
    roles = {r.lower() for r in f.asb_lens_roles}
    asb = data["asb"].merge(households[["tenancy_ref", "counted_from"]], on="tenancy_ref")
    asb = asb[asb["opened_at"] >= asb["counted_from"]]
    asb["is_lens_match"] = asb.apply(
        lambda r: (
            any(t in str(r["category"]).lower() for t in terms)
            and (r["role"] is None or pd.isna(r["role"]) or str(r["role"]).lower() in roles)
        ),
        axis=1,
    )
    asb["weight"] = 0.5 ** ((today - asb["opened_at"]).dt.days / f.recency_half_life_days)
    asb_features = asb.groupby("tenancy_ref").apply(
        lambda g: pd.Series(
            {
                "asb_cases_long": g["case_ref"].nunique(),
                "asb_lens_cases_long": g.loc[g["is_lens_match"], "case_ref"].nunique(),
                "asb_lens_weighted": g.loc[g["is_lens_match"], "weight"].sum(),
            }
        )
    )

    # Arrears: walk each tenancy's weekly balances for the latest onset after a clear run.
    rent = data["rent"][data["rent"]["week_ending"] <= today]
    rent = rent[rent["tenancy_ref"].isin(households["tenancy_ref"])]
    clear_weeks, clear_max = f.arrears_clear_weeks, float(f.arrears_clear_max_gbp)

    def arrears(group: pd.DataFrame) -> pd.Series:
        g = group.sort_values("week_ending")
        balance = g["balance_gbp"].astype(float).to_numpy()
        weeks = g["week_ending"].to_numpy()
        onset, before = None, np.nan
        for i in range(clear_weeks, len(balance)):
            if balance[i] > clear_max and (balance[i - clear_weeks : i] <= clear_max).all():
                onset, before = weeks[i], balance[i - 1]
        return pd.Series(
            {
                "current_balance_gbp": balance[-1],
                "arrears_onset_on": onset,
                "arrears_rise_gbp": balance[-1] - before if onset is not None else np.nan,
            }
        )

    rent_features = rent.groupby("tenancy_ref").apply(arrears)

    out = households.set_index("tenancy_ref")
    for part in (flag_features, discounts, recharge_features, asb_features, rent_features):
        out = out.join(part, how="left")
    count_cols = [
        c
        for c in out.columns
        if c.endswith(("_long", "_recent", "_short", "_weighted"))
        or c.startswith("discounted_")
        or c == "max_burst_flags"
    ]
    out[count_cols] = out[count_cols].fillna(0)
    out["has_arrears_onset"] = out["arrears_rise_gbp"].fillna(0) >= f.arrears_rise_min_gbp

    # Peers: same property type, bedrooms and estate, leaving the household out, shrunk to the landlord rate.
    out["exposure_years"] = ((today - out["counted_from"]).dt.days + 1) / 365.0
    peer = out.groupby(["property_type", "bedrooms", "estate"], dropna=False)
    peer_flags = peer["flags_long"].transform("sum") - out["flags_long"]
    peer_years = peer["exposure_years"].transform("sum") - out["exposure_years"]
    landlord_rate = out["flags_long"].sum() / out["exposure_years"].sum()
    prior = f.peer_prior_home_years
    out["peer_rate_per_year"] = (peer_flags + prior * landlord_rate) / (peer_years + prior)
    out["expected_flags_long"] = out["peer_rate_per_year"] * out["exposure_years"]
    return out.reset_index()
