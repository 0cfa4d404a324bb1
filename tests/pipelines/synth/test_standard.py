"""The synthetic landlord: weekly drops read back with polars, base rates, planted households, CLI errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from pipelines.cli.main import main as cli_main
from pipelines.core.errors import UserError
from pipelines.synth import text as txt
from pipelines.synth.files import EXTRACTS
from pipelines.synth.landlord import SynthSummary
from pipelines.synth.standard import build_landlord, write_landlord

AS_OF = dt.date(2026, 11, 22)  # a Sunday
HOMES, YEARS, SEED = 800, 2, 11
# History: 52 weeks a year ending on the as-of Sunday, so it starts on Monday 2024-11-25.
HISTORY_START = AS_OF - dt.timedelta(days=364 * YEARS - 1)
# The words every planted red-flag phrasing carries (typos included), checked on the text as written.
RED_FLAG_WORDS = re.compile(
    r"(?i)lock|cyl|cycl|latch|barrel|door|dore|frame|f\.?e\.?d\b|glass|glaz|window|windo|dg unit|sealed unit"
    r"|pane\b|board|keys?\b|gain\s+entry|forced|break|burglar|smash"
)


def _num(value: object) -> float:
    """A polars scalar (sum, mean, max) as a float, for comparisons mypy can check."""
    assert isinstance(value, int | float), value
    return float(value)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(extracts: Path, name: str) -> pl.DataFrame:
    """Every weekly file of one extract as text, with the file's date."""
    frames = [
        pl.read_csv(f, infer_schema=False).with_columns(
            pl.lit(dt.date.fromisoformat(f.stem.rsplit("_", 1)[1])).alias("file_date")
        )
        for f in sorted((extracts / name).glob(f"{name}_*.csv"))
    ]
    return pl.concat(frames)


def _latest(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    return frame.sort("file_date").group_by(key, maintain_order=True).last()


def _uk_date(col: str) -> pl.Expr:
    return pl.col(col).str.slice(0, 10).str.to_date("%d/%m/%Y")


@pytest.fixture(scope="module")
def landlord(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("synth")
    out = base / "extracts"
    summary = write_landlord(out, homes=HOMES, years=YEARS, seed=SEED, as_of=AS_OF)
    data: dict[str, object] = {name: _read(out, name) for name in EXTRACTS}
    data["key"] = pl.read_csv(summary.key_path, try_parse_dates=True)
    data["summary"] = summary
    data["out"] = out
    return data


def _frame(data: dict[str, object], name: str) -> pl.DataFrame:
    frame = data[name]
    assert isinstance(frame, pl.DataFrame)
    return frame


def _repairs(data: dict[str, object]) -> pl.DataFrame:
    return _latest(_frame(data, "repairs"), ["job_ref"]).with_columns(
        _uk_date("reported_at").alias("reported_on")
    )


# ---------------------------------------------------------------- files, mapping, determinism


def test_same_seed_writes_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    def write(name: str, seed: int) -> dict[str, str]:
        out = tmp_path / name
        write_landlord(out, homes=200, years=1, seed=seed, as_of=AS_OF)
        files = {str(p.relative_to(out)): _sha(p) for p in sorted(out.rglob("*")) if p.is_file()}
        files["key"] = _sha(tmp_path / f"{name}_answer_key.csv")
        return files

    first, again, other = write("a", 5), write("b", 5), write("c", 6)
    assert first == again
    assert first != other
    assert (
        first["mapping.yaml"] == other["mapping.yaml"]
        or "seed" in (tmp_path / "c" / "mapping.yaml").read_text()
    )


def test_mapping_names_every_file_written_with_value_maps(landlord: dict[str, object]) -> None:
    out = landlord["out"]
    assert isinstance(out, Path)
    mapping = yaml.safe_load((out / "mapping.yaml").read_text(encoding="utf-8"))
    assert set(mapping["extracts"]) == set(EXTRACTS)
    named: set[Path] = set()
    for name, spec in mapping["extracts"].items():
        matched = set(out.glob(spec["files"]))
        assert matched, name
        named |= matched
        header = (out / sorted(matched)[0]).read_text(encoding="utf-8").splitlines()[0].split(",")
        assert list(spec["columns"].values()) == header  # identity maps, written out in full
        assert set(spec["columns"]) == set(spec["columns"].values())
    written = {p for p in out.rglob("*.csv")}
    assert named == written
    values = {name: spec.get("values", {}) for name, spec in mapping["extracts"].items()}
    assert values["repairs"]["priority"] == {
        "I": "emergency", "E": "emergency", "U": "urgent", "N": "routine", "P": "planned", "V": "void",
    }  # fmt: skip
    assert values["repairs"]["status"]["No Access"] == "no_access"
    assert values["asb"]["role"]["Alleged Perpetrator"] == "subject"
    assert values["known_cases"]["marker"] == {
        "DA - Domestic Abuse": "domestic abuse", "MARAC": "marac", "Sanctuary Scheme": "sanctuary scheme",
    }  # fmt: skip
    # Every code written is mapped.
    repairs = _frame(landlord, "repairs")
    assert set(repairs["priority"].unique()) <= set(values["repairs"]["priority"])
    assert set(repairs["status"].unique()) <= set(values["repairs"]["status"])
    assert set(_frame(landlord, "asb")["role"].unique()) <= set(values["asb"]["role"])


def test_answer_key_is_outside_the_extracts(landlord: dict[str, object]) -> None:
    summary = landlord["summary"]
    out = landlord["out"]
    assert isinstance(out, Path) and isinstance(summary, SynthSummary)
    assert summary.key_path == out.parent / "extracts_answer_key.csv"
    assert summary.key_path.exists()
    assert not any("answer" in p.name for p in out.rglob("*"))


def test_key_path_inside_the_extracts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="must not be inside"):
        write_landlord(
            tmp_path / "x", homes=100, years=1, seed=1, as_of=AS_OF, key_path=tmp_path / "x" / "k.csv"
        )


def test_drops_are_weekly_and_hold_only_what_was_known_by_their_date(landlord: dict[str, object]) -> None:
    out = landlord["out"]
    assert isinstance(out, Path)
    for path in out.rglob("*.csv"):
        day = dt.date.fromisoformat(path.stem.rsplit("_", 1)[1])
        assert day.weekday() == 6 and day <= AS_OF, path.name  # a week-ending Sunday
        assert len(path.read_text(encoding="utf-8").splitlines()) >= 2, path.name  # no empty files
    properties = sorted((out / "properties").glob("*.csv"))
    assert [p.name for p in properties] == [f"properties_{HISTORY_START - dt.timedelta(days=1)}.csv"]
    events = {"repairs": ["reported_at", "completed_at"], "recharges": ["raised_at"],
              "asb": ["opened_at", "closed_at"], "rent": ["week_ending"]}  # fmt: skip
    for name, columns in events.items():
        frame = _frame(landlord, name)
        for col in columns:
            on = frame.select(_uk_date(col).alias("on"), "file_date").drop_nulls()
            assert on.height > 0
            assert on.filter(pl.col("on") > pl.col("file_date")).height == 0, (name, col)
            # ... and in the drop of the week it happened (or of a later restatement).
            assert on.filter(pl.col("on") < pl.col("file_date") - dt.timedelta(days=6)).height < on.height
    rent = _frame(landlord, "rent")
    assert (rent.select(_uk_date("week_ending") == pl.col("file_date")).to_series()).all()
    # Rent covers the last two years: 104 weekly snapshots.
    assert rent["file_date"].n_unique() == 104


def test_repairs_are_restated_in_the_week_they_complete(landlord: dict[str, object]) -> None:
    repairs = _frame(landlord, "repairs")
    versions = repairs.group_by("job_ref").agg(pl.len().alias("n"), pl.col("status"), pl.col("file_date"))
    assert versions["n"].max() == 2
    restated = repairs.join(versions.filter(pl.col("n") == 2).select("job_ref"), on="job_ref").sort(
        "job_ref", "file_date"
    )
    first = restated.group_by("job_ref", maintain_order=True).first()
    last = restated.group_by("job_ref", maintain_order=True).last()
    assert set(first["status"].unique()) == {"Open"}
    assert first["completed_at"].null_count() == first.height
    assert set(last["status"].unique()) <= {"Complete", "Cancelled", "No Access"}
    done = last.filter(pl.col("status") == "Complete").with_columns(_uk_date("completed_at").alias("done_on"))
    # The restating drop is the week-ending Sunday of the completion: 0 to 6 days after it.
    gap = (done["file_date"] - done["done_on"]).dt.total_days()
    assert _num(gap.min()) >= 0 and _num(gap.max()) <= 6
    # Formats: dd/mm/yyyy HH:MM for repairs, plain decimals for money.
    assert repairs["reported_at"].str.contains(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$").all()
    assert repairs["cost_gbp"].drop_nulls().str.contains(r"^\d+\.\d{2}$").all()


# ---------------------------------------------------------------- base rates


def test_base_rates_are_realistic(landlord: dict[str, object]) -> None:
    repairs = _repairs(landlord)
    responsive = repairs.filter(pl.col("priority").is_in(["I", "E", "U", "N"]))
    per_home_year = responsive.height / (HOMES * YEARS)
    assert 2.4 <= per_home_year <= 3.6
    emergency = responsive.filter(pl.col("priority").is_in(["I", "E"])).height / responsive.height
    assert 0.18 <= emergency <= 0.32
    assert set(repairs["trade"].unique()) == set(txt.TRADES)

    tenancies = _latest(_frame(landlord, "tenancies"), ["tenancy_ref"])
    turnover = tenancies["end_date"].drop_nulls().len() / (HOMES * YEARS)
    assert 0.05 <= turnover <= 0.11

    asb = _latest(_frame(landlord, "asb"), ["case_ref", "tenancy_ref"])
    cases = asb.group_by("case_ref").agg(pl.col("category").first(), pl.len().alias("parties"))
    assert 5 <= cases.height / (HOMES * YEARS) * 100 <= 9
    noise = cases["category"].str.to_lowercase().str.contains("noise").mean()
    assert 0.22 <= _num(noise) <= 0.45  # about a third
    assert _num((cases["parties"] == 2).mean()) > 0.6  # complainant + subject, usually
    two = asb.join(cases.filter(pl.col("parties") == 2).select("case_ref"), on="case_ref")
    assert two.group_by("case_ref").agg(pl.col("tenancy_ref").n_unique() == 2).to_series(1).all()

    rent = _frame(landlord, "rent").with_columns(pl.col("balance_gbp", "weekly_charge_gbp").cast(pl.Float64))
    weekly = rent.group_by("week_ending").agg(
        (pl.col("balance_gbp") > 0).mean().alias("share"),
        ((pl.col("balance_gbp") > 0) & (pl.col("balance_gbp") < 2 * pl.col("weekly_charge_gbp")))
        .sum()
        .alias("small"),
        (pl.col("balance_gbp") > 0).sum().alias("in_arrears"),
    )
    assert 0.25 <= _num(weekly["share"].mean()) <= 0.42
    assert (
        _num(weekly["small"].sum()) / _num(weekly["in_arrears"].sum()) > 0.5
    )  # most are under 2 weeks' rent
    assert _num(rent["weekly_charge_gbp"].min()) >= 90 and _num(rent["weekly_charge_gbp"].max()) <= 160

    recharges = _latest(_frame(landlord, "recharges"), ["recharge_ref"])
    assert 2 <= recharges.height / (HOMES * YEARS) * 100 <= 12  # a few per 100 homes a year
    assert recharges["amount_gbp"].str.contains(r"^£?\d+\.\d{2}$").all()


def test_ordinary_households_have_background_red_flags() -> None:
    # In memory, with the generator's own labels: 5-8% of ordinary responsive repairs carry a red flag.
    landlord = build_landlord(homes=HOMES, years=YEARS, seed=SEED, as_of=AS_OF)
    ordinary = landlord.repairs.filter(
        ~pl.col("is_planted") & pl.col("priority").is_in(["I", "E", "U", "N"]) & pl.col("ten").ge(0)
    )
    share = ordinary["is_red_flag"].mean()
    assert 0.05 <= _num(share) <= 0.08


def test_properties_blocks_estates_and_communal_jobs(landlord: dict[str, object]) -> None:
    properties = _frame(landlord, "properties")
    types = set(properties["property_type"].unique())
    assert types == {"flat", "house", "bungalow", "maisonette", "communal"}
    assert properties["estate"].n_unique() >= 2
    flats = properties.filter(pl.col("property_type") == "flat")
    assert flats["block_ref"].null_count() == 0
    communal = properties.filter(pl.col("property_type") == "communal")
    assert communal.height == properties["block_ref"].drop_nulls().n_unique()
    repairs = _repairs(landlord)
    communal_jobs = repairs.join(communal.select("property_ref"), on="property_ref")
    assert communal_jobs.height > 0 and communal_jobs["tenancy_ref"].null_count() == communal_jobs.height


def test_void_lock_change_at_every_change_of_tenancy(landlord: dict[str, object]) -> None:
    tenancies = _latest(_frame(landlord, "tenancies"), ["tenancy_ref"]).with_columns(
        pl.col("end_date").str.to_date("%d/%m/%Y")
    )
    ended = tenancies.filter(
        pl.col("end_date").is_between(HISTORY_START, AS_OF - dt.timedelta(days=3))
    ).select("property_ref", "end_date")
    assert ended.height > 50
    voids = _repairs(landlord).filter(pl.col("priority") == "V")
    assert voids["tenancy_ref"].null_count() == voids.height
    locks = voids.filter(pl.col("description").str.contains(r"(?i)lock|cyl|cycl"))
    matched = ended.join(locks, on="property_ref").filter(
        (pl.col("reported_on") > pl.col("end_date"))
        & (pl.col("reported_on") <= pl.col("end_date") + dt.timedelta(days=3))
    )
    assert matched.select("property_ref", "end_date").unique().height == ended.height
    # The next tenancy starts weeks later (2-8 weeks of void).
    starts = tenancies.with_columns(pl.col("start_date").str.to_date("%d/%m/%Y")).select(
        "property_ref", "start_date"
    )
    gaps = ended.join(starts, on="property_ref").filter(pl.col("start_date") > pl.col("end_date"))
    gap_days = gaps.group_by("property_ref", "end_date").agg(
        (pl.col("start_date") - pl.col("end_date")).min()
    )
    assert gap_days.to_series(2).dt.total_days().is_between(14, 57).all()


# ---------------------------------------------------------------- descriptions


def test_descriptions_look_like_exports(landlord: dict[str, object]) -> None:
    repairs = _repairs(landlord)
    text = repairs["description"]
    assert text.n_unique() > 0.15 * repairs.height  # varied, not a short list
    assert text.str.contains(r"\b(tnt|TNT)\b").any()
    assert text.str.contains(r"(?i)cyclinder|dore\b|windo\b").any()  # typos
    assert text.str.contains(r"  ").any()  # double spaces
    upper = text.filter(text.str.contains(r"[A-Z]{4,} [A-Z]{4,}"))
    assert upper.len() > 0.05 * repairs.height
    assert text.str.contains(r"^\d+(\.\d+)?mm (clear|obscure|laminated|float)|^4mm").any()  # SoR glass lines
    # "OOH" only on emergencies; trade prefixes only on their trade.
    ooh = repairs.filter(pl.col("description").str.contains(r"^(OOH|O\.O\.H\.|OUT OF HOURS)"))
    assert ooh.height > 0 and set(ooh["priority"].unique()) <= {"I", "E"}
    glz = repairs.filter(pl.col("description").str.starts_with("GLZ - "))
    assert glz.height > 0 and set(glz["trade"].unique()) == {"glazier"}
    coded = repairs["sor_code"].drop_nulls()
    assert 0.4 < coded.len() / repairs.height < 0.95
    assert coded.str.contains(r"^[A-Z]{2}\d{4}$").all()
    # Look-alike non-flag phrasing is common.
    for phrase in (
        "restrictor",
        "door closer",
        "ease and adjust",
        "lubricate",
        "draught strip",
        "cupboard door",
    ):
        assert text.str.to_lowercase().str.contains(phrase, literal=True).any(), phrase


def test_every_red_flag_template_carries_a_red_flag_word() -> None:
    rng = np.random.default_rng(0)
    for job in txt.job_catalogue():
        if job.flags:
            for variant in txt.expand_variants(job, rng, 200):
                assert RED_FLAG_WORDS.search(variant), (job.name, variant)
            for _, line in job.sor:
                assert RED_FLAG_WORDS.search(line), (job.name, line)


def test_the_text_catalogue_is_read_from_its_data_file_in_order() -> None:
    catalogue = txt.load_catalogue()
    names = [job.name for job in catalogue.jobs]
    # The file's order is the draw order: the first red flag, the first ordinary repair and the last job.
    assert names[0] == "rf_lock_ext" and "plumb_leak" in names and names[-1] == "vand_glass"
    lock = catalogue.jobs[0]
    assert lock.trades == {"locksmith": 0.6, "carpenter": 0.4}
    assert lock.priority == {"I": 0.05, "E": 0.45, "U": 0.40, "N": 0.10}  # the named mix E_MID
    assert lock.sor[0] == ("JN2070", "Renew cylinder lock") and lock.flags == {"lock_change"}
    assert catalogue.asb_categories[0][:2] == ("Noise", 0.20)
    assert catalogue.da_markers == ("DA - Domestic Abuse", "MARAC", "Sanctuary Scheme")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("trades: {locksmith: 0.6, carpenter: 0.4}", "trades: {locksmith: 0.6, carpentr: 0.4}", "carpentr"),
        (
            "priority: E_MID\n    flags: [lock_change]",
            "priority: E_MIDDLE\n    flags: [lock_change]",
            "E_MIDDLE",
        ),
        ('"renew {lock} to {ext}{c_lock}"', '"renew {lokc} to {ext}"', "lokc"),
    ],
)
def test_a_mistyped_catalogue_entry_is_named(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = txt.TEXT_FILE.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "standard.yaml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ValueError, match=f"rf_lock_ext.*{message}|{message}.*rf_lock_ext") as info:
        txt.load_catalogue(bad)
    assert str(bad) in str(info.value)


# ---------------------------------------------------------------- planted households


def test_every_planted_kind_is_present(landlord: dict[str, object]) -> None:
    key = _frame(landlord, "key")
    kinds = dict(key.group_by("kind").len().iter_rows())
    for kind in ("lookalike_burglary", "lookalike_heavy_repairer", "lookalike_tenancy_start"):
        assert kinds.get(kind, 0) >= 3, kind
    for kind in ("da_pattern", "known_case", "known_case_lapsed", "lookalike_block_vandalism",
                 "lookalike_planned_programme"):  # fmt: skip
        assert kinds.get(kind, 0) >= 2, kind
    assert key["tenancy_ref"].n_unique() == key.height  # one row per household
    da = key.filter(pl.col("kind") == "da_pattern")
    assert set(da["strength"].unique()) <= {"strong", "medium", "weak"}
    assert (
        key.filter(pl.col("kind").str.starts_with("lookalike") | (pl.col("kind") == "known_case"))[
            "strength"
        ].null_count()
        == key.filter(pl.col("kind").str.starts_with("lookalike") | (pl.col("kind") == "known_case")).height
    )
    # live_at_as_of: started by the as-of date and ended no more than 90 days before it.
    live = (pl.col("pattern_start") <= AS_OF) & (pl.col("pattern_end") >= AS_OF - dt.timedelta(days=90))
    assert (key.select(live == pl.col("live_at_as_of")).to_series()).all()
    assert (key["pattern_start"] <= key["pattern_end"]).all()


def test_planted_households_carry_their_red_flag_repairs(landlord: dict[str, object]) -> None:
    key = _frame(landlord, "key").filter(pl.col("red_flag_repairs") > 0)
    repairs = _repairs(landlord).filter(
        (pl.col("status") != "Cancelled") & pl.col("description").str.contains(RED_FLAG_WORDS.pattern)
    )
    found = (
        key.join(repairs, on="tenancy_ref", how="left")
        .filter(pl.col("reported_on").is_between(pl.col("pattern_start"), pl.col("pattern_end")))
        .group_by("tenancy_ref")
        .agg(pl.len().alias("found"))
    )
    checked = key.join(found, on="tenancy_ref", how="left").with_columns(pl.col("found").fill_null(0))
    short = checked.filter(pl.col("found") < pl.col("red_flag_repairs"))
    assert short.height == 0, short.select("tenancy_ref", "kind", "red_flag_repairs", "found")
    # Strength sizes: strong 6-10, medium 4-6, weak 3 red-flag repairs.
    da = _frame(landlord, "key").filter(pl.col("kind").is_in(["da_pattern", "known_case_lapsed"]))
    sizes = {s: da.filter(pl.col("strength") == s)["red_flag_repairs"] for s in ("strong", "medium", "weak")}
    assert sizes["strong"].is_between(6, 10).all()
    assert sizes["medium"].is_between(4, 6).all()
    assert (sizes["weak"] == 3).all()


def test_strong_patterns_carry_other_signals(landlord: dict[str, object]) -> None:
    key = _frame(landlord, "key").filter(pl.col("strength") == "strong")
    assert key.height > 0
    recharges = _latest(_frame(landlord, "recharges"), ["recharge_ref"]).with_columns(_uk_date("raised_at"))
    asb = _latest(_frame(landlord, "asb"), ["case_ref", "tenancy_ref"]).with_columns(_uk_date("opened_at"))
    subjects = asb.filter(pl.col("role") == "Alleged Perpetrator")
    rent = _frame(landlord, "rent").with_columns(
        _uk_date("week_ending"), pl.col("balance_gbp").cast(pl.Float64)
    )
    signals = []
    for row in key.iter_rows(named=True):
        ref, start, end = row["tenancy_ref"], row["pattern_start"], row["pattern_end"]
        has_recharge = (
            recharges.filter(
                (pl.col("tenancy_ref") == ref) & pl.col("raised_at").is_between(start, end)
            ).height
            > 0
        )
        has_asb = subjects.filter(
            (pl.col("tenancy_ref") == ref) & pl.col("opened_at").is_between(start, end)
        ).height
        # Arrears onset after a clear account: 8+ clear weeks, then (after the pattern starts) over £200.
        account = rent.filter(pl.col("tenancy_ref") == ref).sort("week_ending")
        behind = account.filter((pl.col("week_ending") >= start) & (pl.col("balance_gbp") > 0))
        has_arrears = False
        if behind.height:
            onset = behind["week_ending"][0]
            clear = account.filter(pl.col("week_ending") < onset)["balance_gbp"]
            rise = account.filter(pl.col("week_ending").is_between(onset, end))["balance_gbp"]
            has_arrears = clear.len() >= 8 and bool((clear <= 0).all()) and _num(rise.max()) >= 200
        signals.append(int(has_recharge) + int(has_asb > 0) + int(has_arrears))
    assert min(signals) >= 1
    assert sum(s >= 2 for s in signals) >= 0.8 * len(signals)


def test_known_cases_are_live_and_lapsed_ones_come_back(landlord: dict[str, object]) -> None:
    key = _frame(landlord, "key")
    markers = _latest(_frame(landlord, "known_cases"), ["tenancy_ref", "marker", "start_date"]).with_columns(
        pl.col("start_date", "end_date").str.to_date("%d/%m/%Y")
    )
    da_markers = {"DA - Domestic Abuse", "MARAC", "Sanctuary Scheme"}
    repairs = _repairs(landlord)
    for row in key.filter(pl.col("kind") == "known_case").iter_rows(named=True):
        mine = markers.filter(
            (pl.col("tenancy_ref") == row["tenancy_ref"]) & pl.col("marker").is_in(da_markers)
        )
        assert mine.height == 1
        start, end = mine["start_date"][0], mine["end_date"][0]
        # Live at the as-of date: an end date still ahead, or no end date and started within 12 months.
        assert end > AS_OF if end is not None else start > AS_OF - dt.timedelta(days=365)
        works = repairs.filter(
            (pl.col("tenancy_ref") == row["tenancy_ref"])
            & pl.col("description").str.contains(r"(?i)sanctuary|DA team")
        )
        assert works.height >= 1 or start < HISTORY_START
    for row in key.filter(pl.col("kind") == "known_case_lapsed").iter_rows(named=True):
        mine = markers.filter(
            (pl.col("tenancy_ref") == row["tenancy_ref"]) & pl.col("marker").is_in(da_markers)
        )
        assert mine.height == 1 and mine["end_date"][0] is None
        lapsed = mine["start_date"][0] + dt.timedelta(days=365)
        assert mine["start_date"][0] < AS_OF - dt.timedelta(days=455)  # more than 15 months before
        assert row["pattern_start"] > lapsed and row["live_at_as_of"]
    assert set(markers["marker"].unique()) - da_markers  # other markers the suppression must not act on


def test_look_alikes_look_like_what_they_are(landlord: dict[str, object]) -> None:
    key = _frame(landlord, "key")
    repairs = _repairs(landlord)
    burglaries = key.filter(pl.col("kind") == "lookalike_burglary").join(repairs, on="tenancy_ref")
    crime = burglaries.filter(pl.col("description").str.contains(r"(?i)crime|police ref|incident|CAD|CRN"))
    assert crime["tenancy_ref"].n_unique() == key.filter(pl.col("kind") == "lookalike_burglary").height

    vandalised = key.filter(pl.col("kind") == "lookalike_block_vandalism").join(
        _frame(landlord, "properties").select("property_ref", "block_ref"), on="property_ref"
    )
    per_block = vandalised.group_by("block_ref").agg(
        pl.len().alias("homes"),
        (pl.col("pattern_start").max() - pl.col("pattern_start").min()).alias("spread"),
    )
    assert per_block["homes"].is_between(5, 12).all()
    assert (per_block["spread"].dt.total_days() <= 14).all()
    communal = repairs.filter(pl.col("property_ref").is_in((per_block["block_ref"] + "-C").implode()))
    assert communal["description"].str.contains(r"(?i)communal|stairwell").any()

    planned = _latest(_frame(landlord, "planned_works"), ["estate", "block_ref", "programme", "start_date"])
    programmes = planned.filter(pl.col("programme").str.contains("Window|Door"))
    assert programmes.height >= 2 and programmes["estate"].null_count() == 0
    announced = programmes.with_columns(pl.col("start_date").str.to_date("%d/%m/%Y"))
    assert (announced["file_date"] < announced["start_date"]).all()  # announced a few weeks ahead
    marked = key.filter(pl.col("kind") == "lookalike_planned_programme").join(repairs, on="tenancy_ref")
    p_jobs = marked.filter(pl.col("priority") == "P")
    assert (
        p_jobs["tenancy_ref"].n_unique() == key.filter(pl.col("kind") == "lookalike_planned_programme").height
    )
    # Each marked household's own job is the programme's (window or door replacement) on its pattern date.
    own = p_jobs.filter(pl.col("reported_on") == pl.col("pattern_start"))
    assert own["tenancy_ref"].n_unique() == p_jobs["tenancy_ref"].n_unique()
    assert own["description"].str.contains(r"(?i)programme|planned").all()
    assert own["description"].str.contains(r"(?i)window|door|FED").all()

    heavy = key.filter(pl.col("kind") == "lookalike_heavy_repairer").join(repairs, on="tenancy_ref")
    per_year = heavy.filter(pl.col("reported_on").is_between(pl.col("pattern_start"), pl.col("pattern_end")))
    assert _num(per_year.group_by("tenancy_ref").len()["len"].min()) >= 5

    fresh = key.filter(pl.col("kind") == "lookalike_tenancy_start").join(
        _latest(_frame(landlord, "tenancies"), ["tenancy_ref"]).with_columns(
            pl.col("start_date").str.to_date("%d/%m/%Y")
        ),
        on="tenancy_ref",
    )
    assert ((fresh["pattern_end"] - fresh["start_date"]).dt.total_days() < 28).all()


@pytest.mark.slow
def test_six_thousand_homes_have_about_half_a_percent_live_patterns(tmp_path: Path) -> None:
    summary = write_landlord(tmp_path / "big", homes=6000, years=3, seed=1, as_of=AS_OF)
    key = pl.read_csv(summary.key_path, try_parse_dates=True)
    # About 0.5% of 6000 homes = 30 live patterns; allow 18-42.
    assert 18 <= summary.live_planted <= 42
    da = key.filter(pl.col("kind") == "da_pattern")
    shares = da["strength"].value_counts(normalize=True)
    share = dict(zip(shares["strength"], shares["proportion"], strict=True))
    assert (
        0.35 <= share["strong"] <= 0.55 and 0.30 <= share["medium"] <= 0.50 and 0.07 <= share["weak"] <= 0.25
    )
    # New patterns start throughout the history: every 4-week period of the last 26 weeks sees some.
    for weeks_back in range(0, 24, 4):
        hi = AS_OF - dt.timedelta(weeks=weeks_back)
        lo = hi - dt.timedelta(weeks=4)
        assert da.filter(pl.col("pattern_start").is_between(lo, hi)).height >= 1, lo


# ---------------------------------------------------------------- the command line


def test_cli_writes_a_landlord_and_summarises_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "land"
    code = cli_main(["synth", "--out", str(out), "--homes", "150", "--years", "1", "--seed", "2",
                     "--as-of", "2026-11-22"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "repairs" in printed and str(tmp_path / "land_answer_key.csv") in printed
    assert (out / "mapping.yaml").exists() and (tmp_path / "land_answer_key.csv").exists()


def test_cli_refuses_an_out_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a_file.csv"
    target.write_text("keep me\n")
    assert cli_main(["synth", "--out", str(target), "--homes", "100"]) != 0
    assert "is a file" in capsys.readouterr().err
    assert target.read_text() == "keep me\n"


def test_cli_refuses_zero_homes(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main(["synth", "--out", str(tmp_path / "x"), "--homes", "0"])
    assert exc.value.code == 2


def test_cli_refuses_a_folder_holding_something_else(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("not ours")
    assert cli_main(["synth", "--out", str(tmp_path / "busy"), "--homes", "100"]) != 0
    assert (tmp_path / "busy" / "notes.txt").exists()
