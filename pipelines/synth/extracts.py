"""The standard landlord's extracts assembled from the planted and background rows: repairs with their
descriptions, priorities and refs; recharges; ASB cases one row per party; known cases; planned works; and
the answer key. One row per record in its final state, with the day numbers the writer files them by."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from pipelines.synth import text as txt
from pipelines.synth.landlord import LIVE_LOOKBACK_DAYS, BuildState, pick_by_cum
from pipelines.synth.planting import RECHARGE_KIND
from pipelines.synth.stock import NO_END, date_of, days_to_date, neighbour_of

ASB_CASES_PER_HOME_YEAR = 0.066  # plus the planted shouting complaints: about 7 per 100 homes a year
RECHARGE_AMOUNT_GBP = {
    "keys": (45, 150),
    "glass": (60, 280),
    "door": (90, 650),
    "lock": (60, 140),
    "clearance": (80, 450),
    "callout": (35, 75),
}


class Assembly(BuildState):
    """The assembling half of the builder (its state is ``BuildState``; one shared random generator)."""

    def _finish_repairs(self) -> pl.DataFrame:
        rng, cal, cat, parts = self.rng, self.cal, self.cat, self.parts
        prop = np.concatenate(parts.prop)
        ten = np.concatenate(parts.ten)
        day = np.concatenate(parts.day)
        jtype = np.concatenate(parts.jtype)
        planted = np.concatenate(parts.planted)
        n = len(prop)
        priority = pick_by_cum(cat.priority_cum, jtype, rng)
        trade = pick_by_cum(cat.trade_cum, jtype, rng)
        emergency = priority <= 1
        minute = np.where(
            emergency,
            rng.integers(0, 1440, size=n),
            np.where(
                priority == 4, rng.integers(8 * 60, 16 * 60, size=n), rng.integers(8 * 60, 18 * 60, size=n)
            ),
        )
        reported = day * 1440 + minute
        delay = np.select(
            [priority == 0, priority == 1, priority == 2, priority == 3, priority == 4],
            [
                rng.integers(30, 240, size=n),
                rng.integers(60, 1440, size=n),
                rng.integers(1, 8, size=n) * 1440,
                rng.integers(3, 36, size=n) * 1440,
                rng.integers(0, 3, size=n) * 1440 + 420,
            ],
            rng.integers(1, 11, size=n) * 1440,
        )
        closed = reported + delay
        u = rng.random(n)
        responsive = priority <= 3
        status = np.where(
            responsive & ~planted & (u < 0.04), 1, np.where(responsive & ~planted & (u < 0.065), 3, 0)
        )
        is_open = closed > (cal.as_of + 1) * 1440 - 1
        status = np.where(is_open, 2, status)  # 0 Complete, 1 Cancelled, 2 Open, 3 No Access
        cost = np.round(cat.cost_median[jtype] * np.exp(rng.normal(0, 0.45, size=n)), 2)
        tables = txt.text_tables(cat.jobs, np.random.default_rng(self.seed + 7919))
        description, sor_code = txt.describe_jobs(jtype, trade, priority, tables, rng)
        if parts.crime:
            rows = np.array(sorted(parts.crime))
            texts = [
                re.sub("<crime>", parts.crime[int(u)], text, flags=re.IGNORECASE)
                for u, text in zip(rows.tolist(), description.gather(rows).to_list(), strict=True)
            ]
            description = description.scatter(rows, pl.Series(texts, dtype=pl.String))
        order = np.lexsort((prop, reported))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        frame = pl.DataFrame(
            {
                "uid": np.arange(n),
                "rank": rank,
                "prop": prop,
                "ten": ten,
                "reported_min": reported,
                "closed_min": np.where(is_open, -1, closed),
                "job_type": jtype,
                "is_red_flag": cat.is_flag[jtype],
                "is_planted": planted,
                "priority": pl.Series(np.array(txt.PRIORITY_CODES)[priority]),
                "trade": pl.Series(np.array(txt.TRADES)[trade]),
                "status": pl.Series(np.array(["Complete", "Cancelled", "Open", "No Access"])[status]),
                "cost_gbp": np.where(status == 0, cost, np.nan),
                "description": description,
                "sor_code": sor_code,
            }
        )
        frame = frame.with_columns(
            pl.concat_str(pl.lit("WO"), (pl.col("rank") + 2_000_001).cast(pl.String)).alias("job_ref"),
            self.stock.refs(prop).alias("property_ref"),
            pl.when(pl.col("ten") >= 0)
            .then(self.ten.refs(np.maximum(ten, 0)))
            .otherwise(None)
            .alias("tenancy_ref"),
            pl.col("cost_gbp").fill_nan(None),
            (pl.col("reported_min") * 60_000).cast(pl.Datetime("ms")).alias("reported_at"),
            pl.when(pl.col("status") == "Complete")
            .then((pl.col("closed_min") * 60_000).cast(pl.Datetime("ms")))
            .otherwise(None)
            .alias("completed_at"),
            (pl.col("reported_min") // 1440).alias("known_day"),
            pl.when(pl.col("closed_min") >= 0)
            .then(pl.col("closed_min") // 1440)
            .otherwise(None)
            .alias("close_day"),
        )
        return frame.sort("rank")

    def _recharges(self, repairs: pl.DataFrame) -> pl.DataFrame:
        rng, cal, cat, ten = self.rng, self.cal, self.cat, self.ten
        job_ref = repairs.sort("uid")["job_ref"]
        kind_of_type = np.array([RECHARGE_KIND.get(j.name, "") for j in cat.jobs], dtype=object)
        jt = repairs["job_type"].to_numpy()
        eligible = (
            (kind_of_type[jt] != "")
            & (repairs["ten"].to_numpy() >= 0)
            & (repairs["status"] == "Complete").to_numpy()
            & ~repairs["is_planted"].to_numpy()
            & (jt != cat["rf_forced"])
        )
        charge = eligible & (rng.random(len(jt)) < 0.28)
        callout = (
            ((repairs["priority"] == "I") | (repairs["priority"] == "E")).to_numpy()
            & ~eligible
            & (repairs["ten"].to_numpy() >= 0)
            & (rng.random(len(jt)) < 0.002)
        )
        rows_uid = repairs["uid"].to_numpy()
        close_day = repairs["close_day"].fill_null(cal.as_of).to_numpy()
        uid = np.concatenate([rows_uid[charge], rows_uid[callout]])
        kind = np.concatenate([kind_of_type[jt[charge]], np.full(callout.sum(), "callout", dtype=object)])
        day = np.concatenate([close_day[charge], close_day[callout]]) + rng.integers(3, 31, size=len(uid))
        t = np.concatenate([repairs["ten"].to_numpy()[charge], repairs["ten"].to_numpy()[callout]])
        if self.recharges:
            uid = np.concatenate([uid, [r[0] for r in self.recharges]])
            kind = np.concatenate([kind, np.array([r[1] for r in self.recharges], dtype=object)])
            day = np.concatenate([day, [r[2] for r in self.recharges]])
            t = np.concatenate([t, [r[3] for r in self.recharges]])
        job = job_ref.gather(uid).to_list()
        # End-of-tenancy clearance, charged to the outgoing household.
        ended = np.flatnonzero((ten.end >= cal.start) & (ten.end < cal.as_of) & (rng.random(len(ten)) < 0.12))
        t = np.concatenate([t, ended])
        kind = np.concatenate([kind, np.full(len(ended), "clearance", dtype=object)])
        day = np.concatenate([day, ten.end[ended] + rng.integers(10, 41, size=len(ended))])
        job += [None] * len(ended)
        keep = day <= cal.as_of
        t, kind, day = t[keep], kind[keep], day[keep]
        job = [j for j, k in zip(job, keep.tolist(), strict=True) if k]
        n = len(t)
        lo = np.array([RECHARGE_AMOUNT_GBP[k][0] for k in kind])
        hi = np.array([RECHARGE_AMOUNT_GBP[k][1] for k in kind])
        pence = np.round((lo + rng.random(n) * (hi - lo)) * 100).astype(np.int64)
        pence = np.where(rng.random(n) < 0.6, pence // 100 * 100, pence)  # most charges are whole pounds
        reasons = [
            txt.RECHARGE_REASONS[k][i % len(txt.RECHARGE_REASONS[k])]
            for k, i in zip(kind.tolist(), rng.integers(0, 1000, size=n).tolist(), strict=True)
        ]
        u = rng.random(n)
        final = np.where(
            u < 0.55, "Paid", np.where(u < 0.63, "Disputed", np.where(u < 0.70, "Written Off", "Raised"))
        )
        change = day + np.select(
            [final == "Paid", final == "Disputed"],
            [rng.integers(14, 121, size=n), rng.integers(7, 31, size=n)],
            rng.integers(180, 401, size=n),
        )
        change = np.where((final == "Raised") | (change > cal.as_of), -1, change)
        order = np.lexsort((t, day))
        frame = pl.DataFrame(
            {
                "t": t,
                "raised_day": day,
                "change_day": change,
                "final": final,
                "pence": pence,
                "reason": reasons,
                "job_ref": pl.Series(job, dtype=pl.String),
                "pound_sign": rng.random(n) < 0.07,
            }
        )[order]
        frame = frame.with_columns(
            pl.concat_str(pl.lit("RC"), (pl.int_range(pl.len()) + 300_001).cast(pl.String)).alias(
                "recharge_ref"
            ),
            self.ten.refs(frame["t"].to_numpy()).alias("tenancy_ref"),
            self.stock.refs(ten.home[frame["t"].to_numpy()]).alias("property_ref"),
            pl.concat_str(
                pl.when(pl.col("pound_sign")).then(pl.lit("£")).otherwise(pl.lit("")),
                (pl.col("pence") // 100).cast(pl.String),
                pl.lit("."),
                (pl.col("pence") % 100).cast(pl.String).str.zfill(2),
            ).alias("amount_gbp"),
            days_to_date(pl.col("raised_day")).alias("raised_at"),
        )
        return frame

    def _asb(self) -> pl.DataFrame:
        rng, cal, stock, ten = self.rng, self.cal, self.stock, self.ten
        n = rng.poisson(ASB_CASES_PER_HOME_YEAR * self.homes * cal.days / 365.25)
        day = cal.start + rng.integers(0, cal.days, size=n)
        home = rng.integers(0, self.homes, size=n)
        comp = ten.at(home, day)
        keep = comp >= 0
        day, home, comp = day[keep], home[keep], comp[keep]
        n = len(day)
        subject = ten.at(neighbour_of(rng, stock, home), day)
        witness = ten.at(neighbour_of(rng, stock, home), day)
        shape = rng.random(n)
        victim_only = (shape < 0.12) | (subject < 0) | (subject == comp)
        with_witness = (
            ~victim_only & (shape > 0.92) & (witness >= 0) & (witness != comp) & (witness != subject)
        )
        cat_p = np.array([c[1] for c in txt.ASB_CATEGORIES])
        category = rng.choice(len(txt.ASB_CATEGORIES), size=n, p=cat_p / cat_p.sum())
        texts = [
            txt.ASB_CATEGORIES[c][2][i % len(txt.ASB_CATEGORIES[c][2])]
            for c, i in zip(category.tolist(), rng.integers(0, 1000, size=n).tolist(), strict=True)
        ]
        names = np.array([c[0] for c in txt.ASB_CATEGORIES], dtype=object)[category]
        cases = {
            "day": day,
            "cat": names,
            "text": np.array(texts, dtype=object),
            "comp": np.where(victim_only, -1, comp),
            "victim": np.where(victim_only, comp, -1),
            "subject": np.where(victim_only, -1, subject),
            "witness": np.where(with_witness, witness, -1),
        }
        planted = self.asb_planted
        if planted:
            cases["day"] = np.concatenate([cases["day"], [p[0] for p in planted]])
            cases["cat"] = np.concatenate([cases["cat"], np.array([p[3] for p in planted], dtype=object)])
            cases["text"] = np.concatenate([cases["text"], np.array([p[4] for p in planted], dtype=object)])
            cases["subject"] = np.concatenate([cases["subject"], [p[1] for p in planted]])
            cases["comp"] = np.concatenate([cases["comp"], [p[2] for p in planted]])
            cases["victim"] = np.concatenate([cases["victim"], np.full(len(planted), -1)])
            cases["witness"] = np.concatenate([cases["witness"], np.full(len(planted), -1)])
        m = len(cases["day"])
        order = np.lexsort((cases["comp"], cases["day"]))
        for k in cases:
            cases[k] = cases[k][order]
        closed = cases["day"] + rng.integers(14, 201, size=m)
        closed = np.where(closed <= cal.as_of, closed, -1)
        case_ref = np.array([f"ASB-{i + 10001:06d}" for i in range(m)], dtype=object)
        pieces = []
        for role, col in (
            ("Complainant", "comp"),
            ("Alleged Perpetrator", "subject"),
            ("Victim", "victim"),
            ("Witness", "witness"),
        ):
            sel = cases[col] >= 0
            pieces.append(
                pl.DataFrame(
                    {
                        "case_ref": pl.Series(case_ref[sel].tolist(), dtype=pl.String),
                        "t": cases[col][sel],
                        "opened_day": cases["day"][sel],
                        "close_day": closed[sel],
                        "category": pl.Series(cases["cat"][sel].tolist(), dtype=pl.String),
                        "role": role,
                        "description": pl.Series(cases["text"][sel].tolist(), dtype=pl.String),
                    }
                )
            )
        frame = pl.concat(pieces).sort(["case_ref", "t"])
        return frame.with_columns(
            self.ten.refs(frame["t"].to_numpy()).alias("tenancy_ref"),
            days_to_date(pl.col("opened_day")).alias("opened_at"),
            pl.when(pl.col("close_day") >= 0)
            .then(days_to_date(pl.col("close_day")))
            .otherwise(None)
            .alias("closed_at"),
            pl.when(pl.col("close_day") >= 0).then(pl.col("close_day")).otherwise(None).alias("close_day"),
        )

    def _known_cases(self) -> pl.DataFrame:
        rng, cal, ten = self.rng, self.cal, self.ten
        # Other markers (vulnerability, staff safety) that the suppression settings do not act on.
        n_other = max(3, round(self.homes * 0.01))
        t_other = rng.integers(0, len(ten), size=n_other)
        start = np.maximum(ten.start[t_other], cal.start - 400) + rng.integers(0, 200, size=n_other)
        ok = (start <= cal.as_of) & (start <= ten.end[t_other])
        rows = list(self.markers)
        for t, s in zip(t_other[ok].tolist(), start[ok].tolist(), strict=True):
            rows.append((t, txt.OTHER_MARKERS[int(rng.integers(len(txt.OTHER_MARKERS)))], s, NO_END))
        rows = sorted(set(rows), key=lambda r: (r[2], r[0], r[1]))
        frame = pl.DataFrame(
            {
                "t": [r[0] for r in rows],
                "marker": [r[1] for r in rows],
                "start_day": [r[2] for r in rows],
                "end_day": [r[3] for r in rows],
            },
            schema={"t": pl.Int64, "marker": pl.String, "start_day": pl.Int64, "end_day": pl.Int64},
        )
        return frame.with_columns(
            self.ten.refs(frame["t"].to_numpy()).alias("tenancy_ref"),
            days_to_date(pl.col("start_day")).alias("start_date"),
            pl.when(pl.col("end_day") < NO_END)
            .then(days_to_date(pl.col("end_day")))
            .otherwise(None)
            .alias("end_date"),
        )

    def _planned_works(self) -> pl.DataFrame:
        stock = self.stock
        rows = sorted(self.programmes, key=lambda r: (r[6], r[4], r[3], r[1], r[2]))
        return pl.DataFrame(
            {
                "property_ref": [None for _ in rows],
                "block_ref": [stock.block_ref[r[1]] if r[1] >= 0 else None for r in rows],
                "estate": [stock.estate_name[r[2]] if r[2] >= 0 else None for r in rows],
                "programme": [r[3] for r in rows],
                "start_date": [date_of(r[4]) for r in rows],
                "end_date": [date_of(r[5]) for r in rows],
                "known_day": [max(r[6], self.cal.start) for r in rows],
            },
            schema={
                "property_ref": pl.String,
                "block_ref": pl.String,
                "estate": pl.String,
                "programme": pl.String,
                "start_date": pl.Date,
                "end_date": pl.Date,
                "known_day": pl.Int64,
            },
        )

    def _key(self) -> pl.DataFrame:
        as_of = self.cal.as_of
        rows = self.key_rows
        return pl.DataFrame(
            {
                "tenancy_ref": [r["tenancy_ref"] for r in rows],
                "property_ref": [r["property_ref"] for r in rows],
                "kind": [r["kind"] for r in rows],
                "strength": [r["strength"] or None for r in rows],
                "pattern_start": [date_of(int(r["start"])) for r in rows],  # type: ignore[call-overload]
                "pattern_end": [date_of(int(r["end"])) for r in rows],  # type: ignore[call-overload]
                "live_at_as_of": [
                    int(r["start"]) <= as_of and int(r["end"]) >= as_of - LIVE_LOOKBACK_DAYS  # type: ignore[call-overload]
                    for r in rows
                ],
                "notes": [r["notes"] for r in rows],
                "red_flag_repairs": [r["red_flag_repairs"] for r in rows],
            },
            schema={
                "tenancy_ref": pl.String,
                "property_ref": pl.String,
                "kind": pl.String,
                "strength": pl.String,
                "pattern_start": pl.Date,
                "pattern_end": pl.Date,
                "live_at_as_of": pl.Boolean,
                "notes": pl.String,
                "red_flag_repairs": pl.Int64,
            },
        ).sort(["kind", "pattern_start", "tenancy_ref"])
