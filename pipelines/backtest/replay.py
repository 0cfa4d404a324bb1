"""``redflags backtest``: replay the weekly run over past weeks and measure the lists it would have made.

Ingest the extracts once, then for every week-ending Sunday in the range score the week with only what was
known then (the SQL models read rows with ``known_on <= as_of``), and judge each list:

- against the synthetic answer key when there is one (positive: a planted pattern that has started), or
- against reviewers' recorded outcomes (``outcomes.positive_values`` / ``negative_values``; other outcomes and
  unreviewed households are left out of precision).

Beside every list stands a simple baseline of the same length (most red-flag repairs in the past year,
``sql/marts/backtest_baseline.sql``). Tables go to the terminal and to ``weekly.csv``, ``summary.csv`` and
``threshold_sweep.csv`` under ``--out``, with PNG plots beside them. No household reference is written to
any file; the CSVs hold counts and rates only.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import duckdb
import polars as pl

from models.backtest_metrics import (
    POSITIVE_KINDS,
    TRUTH_SCHEMA,
    WeekMetrics,
    answer_key_truth,
    outcome_truth,
    pooled,
    summarise_time_to_flag,
    sweep_thresholds,
    threshold_sweep,
    top_k,
    week_metrics,
    weeks_to_first_listing,
)
from pipelines.backtest import plots as backtest_plots
from pipelines.backtest.result import BacktestResult
from pipelines.core.errors import ConfigError, UserError
from pipelines.core.progress import get_progress
from pipelines.core.settings import Settings
from pipelines.core.spreadsheets import write_csv
from pipelines.core.weeks import week_endings
from pipelines.ingest.classifier import classifier_from_settings
from pipelines.ingest.folder import ingest_folder
from pipelines.ingest.mapping import load_mapping
from pipelines.scoring.week import known_by, score_week
from pipelines.warehouse.connection import Warehouse, open_warehouse, query, remove_warehouse, run_model
from pipelines.warehouse.crypto import FieldCipher
from pipelines.warehouse.references import reveal
from pipelines.warehouse.runs import finish_run, start_run

log = logging.getLogger(__name__)

Scorer = Callable[[duckdb.DuckDBPyConnection, Settings, dt.date], Any]
SWEEP_STEPS = 20

WEEKLY_SCHEMA: dict[str, Any] = {
    "config": pl.String,
    "week": pl.Date,
    "list_size": pl.Int64,
    "capacity": pl.Int64,
    "carried": pl.Int64,
    "new_listings": pl.Int64,
    "labelled": pl.Int64,
    "positives_listed": pl.Int64,
    "precision": pl.Float64,
    "live": pl.Int64,
    "live_listed": pl.Int64,
    "recall": pl.Float64,
    "lookalikes_listed": pl.Int64,
    "known_cases_listed": pl.Int64,
    "baseline_labelled": pl.Int64,
    "baseline_positives": pl.Int64,
    "baseline_precision": pl.Float64,
    "baseline_live_listed": pl.Int64,
    "baseline_recall": pl.Float64,
    "seconds": pl.Float64,
}


# --- truth
# ---------------------------------------------------------------------------------------------------


def default_answer_key_path(extracts: Path) -> Path:
    """Where ``redflags synth`` writes the answer key: beside the extracts folder, never inside it."""
    extracts = Path(extracts)
    return extracts.parent / f"{extracts.name}_answer_key.csv"


def read_answer_key(path: Path) -> pl.DataFrame:
    """The answer key: tenancy_ref, kind, pattern_start, pattern_end (dates; blank = none)."""
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.ComputeError) as exc:
        raise UserError(f"cannot read the answer key {path} ({type(exc).__name__})") from None
    missing = {"tenancy_ref", "kind", "pattern_start", "pattern_end"} - set(raw.columns)
    if missing:
        raise UserError(f"the answer key {path.name} has no {', '.join(sorted(missing))} column(s)")
    return raw.select(
        "tenancy_ref",
        "kind",
        *(
            pl.col(c).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).alias(c)
            for c in ("pattern_start", "pattern_end")
        ),
    )


def latest_outcomes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Each household's latest recorded outcome (corrections win): tenancy_ref, outcome."""
    return query(
        con,
        "select tenancy_ref, lower(trim(decrypt_text(outcome_enc))) as outcome from outcomes"
        " qualify row_number() over (partition by tenancy_ref order by reviewed_on desc, imported_at desc,"
        " outcome_id desc) = 1",
    )


# --- one replay
# ----------------------------------------------------------------------------------------------


def _score_week(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date, *, cipher: FieldCipher
) -> Any:

    return score_week(con, settings, as_of, cipher=cipher)


def sweep_candidates(scored: Any, settings: Settings) -> tuple[str, pl.DataFrame]:
    """Households a threshold sweep can move on or off the list: (what is swept, frame tenancy_ref, value).

    With the scorer's per-household features: ``scoring.min_points`` over households not suppressed, with
    the minimum red-flag repairs and some points. Otherwise: a score cut-off over the listed and carried.
    """
    features = getattr(scored, "features", None)
    if isinstance(features, pl.DataFrame) and {"points_score", "suppression_reason"} <= set(features.columns):
        frame = features.filter(pl.col("suppression_reason").is_null() & (pl.col("points_score") > 0))
        if "flags_long" in frame.columns:
            frame = frame.filter(pl.col("flags_long") >= settings.scoring.min_red_flag_repairs)
        if "meets_rules" in frame.columns:  # min_points is a floor on top of the occasions-and-signals rule
            frame = frame.filter(pl.col("meets_rules"))
        return "scoring.min_points", frame.select(
            "tenancy_ref", pl.col("points_score").cast(pl.Float64).alias("value")
        )
    both = pl.concat(
        [scored.listed.select("tenancy_ref", "score"), scored.carried.select("tenancy_ref", "score")],
        how="vertical_relaxed",
    )
    return "score", both.select("tenancy_ref", pl.col("score").cast(pl.Float64).alias("value"))


def _baseline(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date) -> pl.DataFrame:
    """The baseline's households for the week ending ``as_of``, by the same knowledge-time rule as the list."""

    return run_model(con, "marts/backtest_baseline", {"as_of": as_of, "known_by": known_by(settings, as_of)})


def _metrics_row(prefix: str, m: WeekMetrics) -> dict[str, Any]:
    if prefix:
        return {
            f"{prefix}labelled": m.labelled,
            f"{prefix}positives": m.positives_listed,
            f"{prefix}precision": m.precision,
            f"{prefix}live_listed": m.live_listed,
            f"{prefix}recall": m.recall,
        }
    return {
        "list_size": m.list_size,
        "labelled": m.labelled,
        "positives_listed": m.positives_listed,
        "precision": m.precision,
        "live": m.live,
        "live_listed": m.live_listed,
        "recall": m.recall,
        "lookalikes_listed": m.lookalikes_listed,
        "known_cases_listed": m.known_cases_listed,
    }


def capacity_of(settings: Settings) -> int:
    return sum(team.capacity_per_week for team in settings.teams.values())


def replay_weeks(extracts: Path, mapping: Path, date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    """The Sundays a replay scores, after checking what it reads: the extracts folder and mapping file exist
    and the range holds at least one week-ending Sunday (one sentence each, before anything is loaded)."""
    if not extracts.is_dir():
        raise ConfigError(f"the extracts folder {extracts} does not exist")
    if not mapping.is_file():
        raise ConfigError(f"the mapping file {mapping} does not exist")
    weeks = week_endings(date_from, date_to)
    if not weeks:
        raise UserError(f"there is no week-ending Sunday from {date_from} to {date_to}")
    return weeks


def run_backtest(
    wh: Warehouse,
    weeks: Sequence[dt.date],
    configs: Mapping[str, Settings],
    *,
    answer_key: pl.DataFrame | None = None,
    scorer: Scorer | None = None,
) -> BacktestResult:
    """Score every week with every config on an already loaded warehouse and measure the lists.

    ``configs``: a display name per settings (the first is the main one). ``answer_key``: synthetic truth;
    without it, reviewers' outcomes in the warehouse are the truth. ``scorer`` defaults to ``score_week``.
    """
    if not weeks:
        raise UserError("the date range holds no week-ending Sunday")
    scorer = scorer or functools.partial(_score_week, cipher=wh.cipher)
    progress = get_progress()
    missing_is_negative = answer_key is not None
    static_truth = None
    if answer_key is None:
        first = next(iter(configs.values()))
        static_truth = outcome_truth(
            reveal(wh.con, wh.cipher, latest_outcomes(wh.con), ("tenancy_ref",)),
            positive_values=first.outcomes.positive_values,
            negative_values=first.outcomes.negative_values,
        )
    truth_by_week = {
        w: answer_key_truth(answer_key, w) if answer_key is not None else static_truth for w in weeks
    }
    baselines: dict[dt.date, pl.DataFrame] = {}
    weekly_rows: list[dict[str, Any]] = []
    sweeps: list[pl.DataFrame] = []
    ttf_frames: list[pl.DataFrame] = []
    for name, settings in configs.items():
        capacity = capacity_of(settings)
        seen: set[str] = set()
        listings: list[pl.DataFrame] = []
        candidates: list[pl.DataFrame] = []
        swept = "score"
        with progress.stage(f"Replaying {len(weeks)} weeks with {name}"):
            for week in weeks:
                started = time.perf_counter()
                scored = scorer(wh.con, settings, week)
                seconds = time.perf_counter() - started
                truth = truth_by_week[week]
                assert truth is not None
                refs = scored.listed["tenancy_ref"].to_list()
                m = week_metrics(refs, truth, missing_is_negative=missing_is_negative)
                if week not in baselines:
                    baselines[week] = reveal(
                        wh.con,
                        wh.cipher,
                        _baseline(wh.con, next(iter(configs.values())), week),
                        ("tenancy_ref",),
                    )
                base_refs = top_k(
                    baselines[week],
                    m.list_size,
                    by=["red_flag_repairs_365d", "last_reported_at"],
                    descending=[True, True],
                )
                b = week_metrics(base_refs, truth, missing_is_negative=missing_is_negative)
                weekly_rows.append(
                    {
                        "config": name,
                        "week": week,
                        "capacity": capacity,
                        "carried": scored.carried.height,
                        "new_listings": len(set(refs) - seen),
                        **_metrics_row("", m),
                        **_metrics_row("baseline_", b),
                        "seconds": seconds,
                    }
                )
                seen.update(refs)
                listings.append(
                    pl.DataFrame(
                        {"tenancy_ref": refs, "week": [week] * len(refs)},
                        schema={"tenancy_ref": pl.String, "week": pl.Date},
                    )
                )
                swept, frame = sweep_candidates(scored, settings)
                candidates.append(frame.with_columns(week=pl.lit(week)))
        sweeps.append(
            _sweep(name, swept, candidates, truth_by_week, settings, missing_is_negative, len(weeks))
        )
        if answer_key is not None:
            starts = answer_key.filter(pl.col("kind").is_in(POSITIVE_KINDS)).select(
                "tenancy_ref", "pattern_start"
            )
            ttf = weeks_to_first_listing(
                starts, pl.concat(listings), first_week=weeks[0], last_week=weeks[-1]
            )
            ttf_frames.append(ttf.select(pl.lit(name).alias("config"), "weeks_to_flag"))
    weekly = pl.DataFrame(weekly_rows, schema=WEEKLY_SCHEMA)
    ttf_all = (
        pl.concat(ttf_frames)
        if ttf_frames
        else pl.DataFrame(schema={"config": pl.String, "weeks_to_flag": pl.Float64})
    )
    summary = _summary(
        weekly, configs, ttf_all if answer_key is not None else None, truth_by_week, missing_is_negative
    )
    return BacktestResult(
        weeks=list(weeks),
        truth_source="answer key" if answer_key is not None else "outcomes",
        weekly=weekly,
        summary=summary,
        sweep=pl.concat(sweeps),
        weeks_to_flag=ttf_all,
    )


def _sweep(
    name: str,
    swept: str,
    candidates: list[pl.DataFrame],
    truth_by_week: Mapping[dt.date, pl.DataFrame | None],
    settings: Settings,
    missing_is_negative: bool,
    n_weeks: int,
) -> pl.DataFrame:
    scored = pl.concat(candidates).rename({"value": "score"})
    truth = pl.concat(
        [t.with_columns(week=pl.lit(w)) for w, t in truth_by_week.items() if t is not None]
    ).select("week", *TRUTH_SCHEMA)
    current = settings.scoring.min_points if swept == "scoring.min_points" else None
    thresholds = sorted(
        set(sweep_thresholds(scored["score"], steps=SWEEP_STEPS))
        | ({current} if current is not None else set())
    )
    frame = threshold_sweep(scored, truth, thresholds, weeks=n_weeks, missing_is_negative=missing_is_negative)
    return frame.select(
        pl.lit(name).alias("config"),
        pl.lit(swept).alias("swept"),
        pl.all(),
        (pl.col("threshold") == current if current is not None else pl.lit(False)).alias("is_current"),
    )


def _summary(
    weekly: pl.DataFrame,
    configs: Mapping[str, Settings],
    ttf: pl.DataFrame | None,
    truth_by_week: Mapping[dt.date, pl.DataFrame | None],
    missing_is_negative: bool,
) -> pl.DataFrame:
    rows = []
    for name, settings in configs.items():
        w = weekly.filter(pl.col("config") == name)
        totals = pooled(w)
        base = pooled(
            w.select(
                pl.col("baseline_positives").alias("positives_listed"),
                pl.col("baseline_labelled").alias("labelled"),
                pl.col("baseline_live_listed").alias("live_listed"),
                "live",
                "list_size",
            )
        )
        t = summarise_time_to_flag(ttf.filter(pl.col("config") == name)) if ttf is not None else None
        rows.append(
            {
                "config": name,
                "config_version": settings.version,
                "config_fingerprint": settings.fingerprint(),
                "weeks": w.height,
                "capacity": capacity_of(settings),
                "mean_list_size": totals["mean_list_size"],
                "mean_carried": float(w["carried"].mean() or 0.0),  # type: ignore[arg-type]
                "households_listed": int(w["new_listings"].sum()),
                "labelled": int(w["labelled"].sum()),
                "precision": totals["precision"],
                "recall": totals["recall"],
                "baseline_precision": base["precision"],
                "baseline_recall": base["recall"],
                "patterns_started": t.patterns if t else None,
                "patterns_listed": t.listed if t else None,
                "median_weeks_to_flag": t.median_weeks if t else None,
                "share_never_listed": t.share_never_listed if t else None,
                "lookalikes_listed": int(w["lookalikes_listed"].sum()),
                "known_cases_listed": int(w["known_cases_listed"].sum()),
                "seconds_per_week": float(w["seconds"].mean() or 0.0),  # type: ignore[arg-type]
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


# --- files
# ---------------------------------------------------------------------------------------------------


def write_outputs(result: BacktestResult, out_dir: Path, *, plots: bool = True) -> dict[str, Path]:
    """weekly.csv, summary.csv, threshold_sweep.csv and the PNG plots, under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "weekly": out_dir / "weekly.csv",
        "summary": out_dir / "summary.csv",
        "threshold_sweep": out_dir / "threshold_sweep.csv",
    }
    # Through the project's one writer: a config name or label an analyst typed stays text in Excel.
    write_csv(result.weekly, files["weekly"], float_precision=4)
    write_csv(result.summary, files["summary"], float_precision=4)
    write_csv(result.sweep, files["threshold_sweep"], float_precision=4)
    if plots:
        files["precision_recall_plot"] = backtest_plots.precision_recall_threshold(
            result, out_dir / "precision_recall_threshold.png"
        )
        files["list_size_plot"] = backtest_plots.list_size_per_week(
            result, out_dir / "list_size_per_week.png"
        )
        if result.truth_source == "answer key":
            files["time_to_flag_plot"] = backtest_plots.time_to_flag(result, out_dir / "time_to_flag.png")
    result.files = files
    return files


# --- the command
# ---------------------------------------------------------------------------------------------


def ingest_once(wh: Warehouse, extracts: Path, mapping_path: Path, settings: Settings, out_dir: Path) -> Any:
    """Load every extract file in the folder (files already loaded are skipped by their sha256)."""

    return ingest_folder(
        wh,
        extracts,
        load_mapping(mapping_path),
        classify=classifier_from_settings(settings.classification),
        progress=get_progress(),
        out_dir=out_dir,
    )


def backtest_folder(
    extracts: Path,
    mapping: Path,
    date_from: dt.date,
    date_to: dt.date,
    configs: Mapping[str, Settings],
    *,
    out_dir: Path,
    answer_key: Path | None = None,
    db: Path | None = None,
    allow_unencrypted: bool = False,
    plots: bool = True,
    scorer: Scorer | None = None,
) -> BacktestResult:
    """Ingest ``extracts`` once and backtest every config over the Sundays from ``date_from`` to ``date_to``.

    Without ``db`` the warehouse is temporary (inside ``out_dir``, removed afterwards). ``answer_key``: the
    synthetic key, when there is one; configs that classify repairs differently are loaded separately.
    """
    extracts, mapping, out_dir = Path(extracts), Path(mapping), Path(out_dir)
    weeks = replay_weeks(extracts, mapping, date_from, date_to)
    key = read_answer_key(answer_key) if answer_key is not None else None
    groups: dict[str, dict[str, Settings]] = {}
    for name, settings in configs.items():
        groups.setdefault(settings.classification.model_dump_json(), {})[name] = settings
    if db is not None and len(groups) > 1:
        raise UserError("the two configs classify repairs differently; compare them without --db")
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for i, group in enumerate(groups.values()):
        temporary = db is None
        path = Path(db) if db is not None else out_dir / f".backtest-{i}.duckdb"
        if temporary:
            path.unlink(missing_ok=True)
        wh = open_warehouse(path, allow_unencrypted=allow_unencrypted)
        try:
            with get_progress().stage("Loading the extracts"):
                ingested = ingest_once(wh, extracts, mapping, next(iter(group.values())), out_dir)
            if getattr(ingested, "files_failed", 0):
                log.warning(
                    "%d extract file(s) could not be loaded; the backtest uses the rest",
                    ingested.files_failed,
                )

            run_id = start_run(wh.con, "backtest", weeks[-1])
            results.append(run_backtest(wh, weeks, group, answer_key=key, scorer=scorer))
            finish_run(wh.con, run_id, "ok", detail=f"{len(weeks)} weeks, {len(group)} config(s)")
        finally:
            wh.close()
            if temporary:
                remove_warehouse(path)
    result = _merge(results, configs)
    write_outputs(result, out_dir, plots=plots)
    return result


def _merge(results: list[BacktestResult], configs: Mapping[str, Settings]) -> BacktestResult:
    if len(results) == 1:
        return results[0]
    order = {name: i for i, name in enumerate(configs)}

    def ordered(frames: list[pl.DataFrame]) -> pl.DataFrame:
        frame = pl.concat(frames, how="vertical_relaxed")
        return frame.sort(pl.col("config").replace_strict(order, return_dtype=pl.Int64), maintain_order=True)

    return BacktestResult(
        weeks=results[0].weeks,
        truth_source=results[0].truth_source,
        weekly=ordered([r.weekly for r in results]),
        summary=ordered([r.summary for r in results]),
        sweep=ordered([r.sweep for r in results]),
        weeks_to_flag=ordered([r.weeks_to_flag for r in results]),
    )


def _pct(value: Any) -> str:
    return "   -  " if value is None else f"{100 * float(value):5.1f}%"


def print_report(result: BacktestResult, out: IO[str] | None = None) -> None:
    """Terminal tables: each week, then the overall figures side by side."""
    out = out or sys.stdout
    first, last = result.weeks[0], result.weeks[-1]
    out.write(
        f"Backtest: {len(result.weeks)} week(s) ending {first:%d %b %Y} to {last:%d %b %Y}; "
        f"truth: {result.truth_source}.\n"
    )
    for name in result.summary["config"].to_list():
        out.write(f"\n{name}\n")
        out.write(
            "  week ending   listed/capacity  carried  precision  recall  look-alikes  baseline precision\n"
        )
        for r in result.weekly.filter(pl.col("config") == name).iter_rows(named=True):
            out.write(
                f"  {r['week']:%Y-%m-%d}    {r['list_size']:>5}/{r['capacity']:<5}    {r['carried']:>7}   "
                f"{_pct(r['precision'])}  {_pct(r['recall'])}  {r['lookalikes_listed']:>11}   "
                f"{_pct(r['baseline_precision'])}\n"
            )
    out.write("\nOverall (pooled over the weeks)\n")
    labels = {
        "mean_list_size": ("households listed per week", "{:.1f}"),
        "capacity": ("capacity per week", "{}"),
        "mean_carried": ("carried forward per week", "{:.1f}"),
        "precision": ("precision at capacity", "pct"),
        "baseline_precision": ("  baseline (most red flags, same length)", "pct"),
        "recall": ("recall of live planted patterns", "pct"),
        "baseline_recall": ("  baseline", "pct"),
        "median_weeks_to_flag": ("median weeks from pattern start to listing", "{:.1f}"),
        "share_never_listed": ("patterns never listed", "pct"),
        "lookalikes_listed": ("look-alike listings", "{}"),
        "known_cases_listed": ("known-case listings", "{}"),
        "seconds_per_week": ("seconds per week (scoring)", "{:.2f}"),
    }
    names = result.summary["config"].to_list()
    out.write(f"  {'':44}" + "".join(f"{n[:18]:>20}" for n in names) + "\n")
    rows = result.summary.to_dicts()
    for key, (label, fmt) in labels.items():
        cells = []
        for row in rows:
            value = row.get(key)
            cells.append(_pct(value) if fmt == "pct" else ("-" if value is None else fmt.format(value)))
        out.write(f"  {label:44}" + "".join(f"{c:>20}" for c in cells) + "\n")
    if result.files:
        out.write(f"\nTables and plots: {next(iter(result.files.values())).parent}\n")
