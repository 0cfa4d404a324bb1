from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.ingest.conversion import convert_sql, used_params
from pipelines.ingest.knowledge import known_on_from_name
from pipelines.ingest.mapping import CANONICAL, ExtractMapping
from pipelines.ingest.readers import create_stage
from tests.pipelines.ingest.ingest_helpers import (
    REPAIRS_MAPPING,
    TODAY,
    fake_classify,
    ingest,
    new_warehouse,
    repairs_csv,
    table,
    write_mapping,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("repairs_2025-03-09.csv", dt.date(2025, 3, 9)),
        ("Repairs_Export_20250309_1200.csv", dt.date(2025, 3, 9)),
        ("rent 09-03-2025.xlsx", dt.date(2025, 3, 9)),
        ("rent_2025_03_09.csv", dt.date(2025, 3, 9)),
        ("asb_2025-01-01_to_2025-03-31.csv", dt.date(2025, 3, 31)),  # a period: known at its end
        ("repairs_2025-02-31.csv", None),  # not a date
        ("jobs_1234567890.csv", None),  # digits, not a date
        ("repairs_2031-01-01.csv", None),  # the future is not knowledge
        ("repairs.csv", None),
    ],
)
def test_known_on_from_file_name(name: str, expected: dt.date | None) -> None:
    assert known_on_from_name(name, TODAY) == expected


def _convert(
    extract: str, rows: list[dict[str, str | None]], spec: ExtractMapping | None = None
) -> list[dict[str, Any]]:
    canonical = CANONICAL[extract]
    spec = spec or ExtractMapping(files=("*",))
    con = duckdb.connect()
    create_stage(con, "stage", canonical)
    for i, row in enumerate(rows):
        values = [0, i + 2] + [row.get(c) for c in canonical.column_names]
        con.execute(f"insert into stage values ({', '.join('?' * len(values))})", values)
    sql, params = convert_sql(canonical, spec, "stage", "conv")
    params["known_on"] = [dt.date(2025, 4, 6)]
    con.execute(sql, used_params(sql, params))
    return [
        dict(zip([d[0] for d in con.sql("select * from conv").description], r, strict=True))
        for r in con.sql("select * from conv order by __row").fetchall()
    ]


def test_uk_iso_and_datetime_dates() -> None:
    texts = [
        "03/04/2025",
        "3/4/2025",
        "2025-04-03",
        "03/04/2025 14:05",
        "2025-04-03T14:05:00",
        "3 Apr 2025",
        "03/04/25",
    ]
    out = _convert("repairs", [{"reported_at": t} for t in texts])
    assert [r["reported_at"] for r in out] == [
        dt.datetime(2025, 4, 3),
        dt.datetime(2025, 4, 3),
        dt.datetime(2025, 4, 3),
        dt.datetime(2025, 4, 3, 14, 5),
        dt.datetime(2025, 4, 3, 14, 5),
        dt.datetime(2025, 4, 3),
        None,
    ]
    assert out[-1]["reported_at__problem"] == "not a date (day-first, e.g. 31/01/2025, or ISO 2025-01-31)"


def test_explicit_date_format_still_accepts_iso() -> None:
    spec = ExtractMapping(files=("*",), date_format="%Y%m%d")
    out = _convert(
        "rent",
        [{"week_ending": "20250406"}, {"week_ending": "2025-04-06"}, {"week_ending": "06/04/2025"}],
        spec,
    )
    assert [r["week_ending"] for r in out] == [dt.date(2025, 4, 6), dt.date(2025, 4, 6), None]


def test_money_forms() -> None:
    texts = ["£1,234.50", "-£12.30", "(£12.30)", "12", " £ 7.5 ", "", "£1,2x0", "1,2,3", "(5"]
    out = _convert(
        "rent", [{"tenancy_ref": "T", "week_ending": "2025-04-06", "balance_gbp": t} for t in texts]
    )
    assert [r["balance_gbp"] for r in out] == [
        Decimal("1234.50"),
        Decimal("-12.30"),
        Decimal("-12.30"),
        Decimal("12.00"),
        Decimal("7.50"),
        None,
        None,
        None,
        None,
    ]
    assert [r["balance_gbp__problem"] for r in out][5:7] == [
        "blank",
        "not an amount of money (e.g. £1,234.50, -£12.30 or (£12.30))",
    ]


def test_categories_after_value_map_case_insensitive() -> None:
    spec = ExtractMapping(files=("*",), values={"status": {"Complete": "completed", "N/A": "no_access"}})
    texts = ["complete", " COMPLETE ", "Open", "No Access", "n/a", "cancelled", "weird", None]
    out = _convert("repairs", [{"status": t} for t in texts], spec)
    assert [r["status"] for r in out] == [
        "completed",
        "completed",
        "open",
        "no_access",
        "no_access",
        "cancelled",
        None,
        None,
    ]
    assert [r["status__problem"] is not None for r in out] == [False] * 6 + [True, False]


def test_usual_category_spellings_convert_exactly_as_the_full_fold(monkeypatch: pytest.MonkeyPatch) -> None:
    """The looked-up spellings are only a shortcut: every raw text converts as it would through the value map
    and the fold, for the contract's values, the mapping's keys and odd spellings around them."""

    spec = ExtractMapping(
        files=("*",),
        values={
            "status": {"Complete": "completed", "N/A": "no_access", "C-X": "cancelled"},
            "priority": {"E": "emergency"},
        },
    )
    bases = [
        "open",
        "completed",
        "cancelled",
        "no_access",
        "complete",
        "n/a",
        "c-x",
        "e",
        "emergency",
        "urgent",
    ]
    texts = sorted(
        {
            v
            for b in bases
            for v in (
                b,
                b.upper(),
                b.title(),
                b.capitalize(),
                b.replace("_", " "),
                b.replace("_", "-"),
                f" {b} ",
                f"{b}\u00a0",
                b.swapcase(),
                b + "s",
            )
        }
    )
    rows = [{"status": t, "priority": t} for t in texts]
    from pipelines.ingest import conversion

    usual = conversion._usual_spellings(("open", "no_access"), {"n/a": "no_access"})
    assert (usual["Open"], usual["NO_ACCESS"], usual["N/A"], usual["n/a"]) == (
        "open",
        "no access",
        "no access",
        "no access",
    )
    looked_up = _convert("repairs", rows, spec)
    monkeypatch.setattr(conversion, "_usual_spellings", lambda *a: {})
    folded = _convert("repairs", rows, spec)
    wanted = (
        "status",
        "status__mapped",
        "status__problem",
        "priority",
        "priority__mapped",
        "priority__problem",
    )
    assert [{k: r[k] for k in wanted} for r in looked_up] == [{k: r[k] for k in wanted} for r in folded]
    assert sum(r["status"] is not None for r in looked_up) > 10  # the test sees real values, not only misses


def test_integers_and_planned_works_place() -> None:
    out = _convert("properties", [{"property_ref": "P", "bedrooms": b} for b in ("2", "2.0", "two")])
    assert [r["bedrooms"] for r in out] == [2, 2, None]
    works = _convert(
        "planned_works",
        [
            {"programme": "Windows", "start_date": "01/05/2025", "estate": "Oak"},
            {"programme": "Doors", "start_date": "01/05/2025"},
        ],
    )
    assert [w["__place__problem"] for w in works] == [
        None,
        "none of property_ref, block_ref, estate is given",
    ]


def test_restatement_keeps_every_version_with_lineage(tmp_path: Path) -> None:
    folder = tmp_path / "ex"
    repairs_csv(folder / "repairs_2025-04-06.csv", ["J1,P1,T1,03/04/2025,renew lock,E,open,"])
    repairs_csv(folder / "repairs_2025-04-13.csv", ["J1,P1,T1,03/04/2025,renew lock,E,completed,95.00"])
    mapping = write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING)
    wh = new_warehouse()
    ingest(wh, folder, mapping)
    assert table(
        wh,
        "select job_ref, status, cost_gbp::varchar, f.file_name, source_row, r.known_on::varchar "
        "from raw_repairs r join loaded_files f using (file_id) order by r.known_on",
    ) == [
        ("J1", "open", None, "repairs_2025-04-06.csv", 2, "2025-04-06"),
        ("J1", "completed", "95.00", "repairs_2025-04-13.csv", 2, "2025-04-13"),
    ]


def test_free_text_is_classified_then_encrypted(tmp_path: Path, db_key: str) -> None:
    folder = tmp_path / "ex"
    repairs_csv(
        folder / "repairs_2025-04-06.csv",
        [
            "J1,P1,T1,03/04/2025,Renew lock - police ref 123,E,open,",
            "J2,P2,,03/04/2025,bleed radiator,U,open,",
        ],
    )
    mapping = write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING)
    from pipelines.warehouse.connection import open_warehouse, query
    from pipelines.warehouse.references import REFERENCE_COLUMNS, reveal

    wh = open_warehouse(tmp_path / "enc.duckdb")
    assert wh.cipher.encrypts
    ingest(wh, folder, mapping)
    stored = query(
        wh.con,
        "select job_ref, description_enc, categories, location, has_police_ref, property_ref, tenancy_ref"
        " from raw_repairs",
    )
    # references are stored as their keyed pseudonyms, and read back as the landlord's
    assert sorted(stored["job_ref"].to_list()) == sorted(wh.cipher.pseudonyms(["J1", "J2"]))
    assert not {"J1", "J2", "P1", "P2", "T1"} & set(
        stored.unpivot(on=["job_ref", "property_ref", "tenancy_ref"])["value"].to_list()
    )
    rows = reveal(wh.con, wh.cipher, stored, REFERENCE_COLUMNS).sort("job_ref").rows()
    assert [(r[0], r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        ("J1", ["lock_change"], "external", True, "P1", "T1"),
        ("J2", [], None, False, "P2", None),
    ]
    assert b"lock" not in bytes(rows[0][1])
    assert wh.cipher.decrypt(rows[0][1]) == "Renew lock - police ref 123"


def _hand_made_landlord(folder: Path) -> dict[str, Any]:
    """A landlord unlike the synthetic one: own headers, cp1252 with semicolons, an xlsx with title rows, "
    "Parquet."""
    openpyxl = pytest.importorskip("openpyxl")
    folder.mkdir(parents=True)
    (folder / "Jobs Export 20250406.csv").write_bytes(
        "Work Order;Address Ref;Tenancy No;Logged;Done;SoR;Notes;Pri;Trade;State;Cost £\r\n"
        "WO-1;A1;TN1;01/04/2025 09:15;02/04/2025;LK01;Renew lock to FED – tnt lost "
        "keys;E;Locksmith;Closed;£1,234.50\r\n"
        "WO-2;A2;;02/04/2025;;;Communal light;R;Electrician;Live;(£12.30)\r\n".encode("cp1252")
    )
    book = openpyxl.Workbook()
    book.active.title = "Summary"
    ws = book.create_sheet("Arrears")
    ws.append(["Weekly arrears report"])
    ws.append(["Produced by the finance system"])
    ws.append(["Tenancy", "Week End", "Balance", "Charge"])
    ws.append(["TN1", dt.datetime(2025, 4, 6), 120.5, 95])
    ws.append(["TN2", "06/04/2025", "-£3.00", None])
    book.save(folder / "Arrears 2025-04-06.xlsx")
    con = duckdb.connect()
    con.execute(
        "copy (select * from (values ('TN1', 'A1', DATE '2019-05-01', NULL::DATE), ('TN2', 'A2', DATE "
        "'2021-01-04', "
        'DATE \'2025-06-01\')) t("Tenancy Ref", "Property", "Start", "End")) to $p (format parquet)',
        {"p": str(folder / "tenancies_2025-04-06.parquet")},
    )
    return {
        "repairs": {
            "files": "Jobs Export *.csv",
            "encoding": "cp1252",
            "delimiter": ";",
            "columns": {
                "job_ref": "Work Order",
                "property_ref": "Address Ref",
                "tenancy_ref": "Tenancy No",
                "reported_at": "Logged",
                "completed_at": "Done",
                "sor_code": "SoR",
                "description": "Notes",
                "priority": "Pri",
                "status": "State",
                "cost_gbp": "Cost £",
            },
            "values": {
                "priority": {"E": "emergency", "R": "routine"},
                "status": {"Closed": "completed", "Live": "open"},
            },
        },
        "rent": {
            "files": "Arrears *.xlsx",
            "sheet": "Arrears",
            "header_row": 3,
            "columns": {
                "tenancy_ref": "Tenancy",
                "week_ending": "Week End",
                "balance_gbp": "Balance",
                "weekly_charge_gbp": "Charge",
            },
        },
        "tenancies": {
            "files": "*.parquet",
            "columns": {
                "tenancy_ref": "Tenancy Ref",
                "property_ref": "Property",
                "start_date": "Start",
                "end_date": "End",
            },
        },
    }


def test_a_hand_made_landlord_loads_with_only_a_mapping_file(tmp_path: Path) -> None:
    mapping = write_mapping(
        tmp_path / "landlord.yaml", _hand_made_landlord(tmp_path / "ex"), landlord="Hand Made HA"
    )
    wh = new_warehouse()
    summary = ingest(wh, tmp_path / "ex", mapping, out=tmp_path / "out")
    assert summary.ok and summary.rows_quarantined == 0, summary.row_messages
    assert table(
        wh,
        "select job_ref, tenancy_ref, reported_at::varchar, priority, status, cost_gbp::varchar, source_row, "
        "known_on::varchar from raw_repairs order by 1",
    ) == [
        ("WO-1", "TN1", "2025-04-01 09:15:00", "emergency", "completed", "1234.50", 2, "2025-04-06"),
        ("WO-2", None, "2025-04-02 00:00:00", "routine", "open", "-12.30", 3, "2025-04-06"),
    ]
    assert table(
        wh,
        "select tenancy_ref, week_ending::varchar, balance_gbp::varchar, weekly_charge_gbp::varchar, "
        "source_row from raw_rent order by 1",
    ) == [
        ("TN1", "2025-04-06", "120.50", "95.00", 4),
        ("TN2", "2025-04-06", "-3.00", None, 5),
    ]
    assert table(
        wh, "select tenancy_ref, start_date::varchar, end_date::varchar from raw_tenancies order by 1"
    ) == [
        ("TN1", "2019-05-01", None),
        ("TN2", "2021-01-04", "2025-06-01"),
    ]
    page = (tmp_path / "out" / "data_quality.html").read_text()
    assert "Hand Made HA" in page and "Renew lock" not in page and "TN1" not in page


@pytest.mark.slow
def test_the_synthetic_landlord_loads_cleanly_and_reloads_as_a_no_op(tmp_path: Path) -> None:
    from pipelines.ingest.folder import ingest_folder
    from pipelines.ingest.mapping import load_mapping
    from pipelines.synth.standard import write_landlord

    synth = write_landlord(tmp_path / "ex", homes=300, years=1, seed=3, as_of=dt.date(2025, 6, 29))
    wh = new_warehouse()
    mapping = load_mapping(synth.mapping_path)
    first = ingest_folder(wh, tmp_path / "ex", mapping, classify=fake_classify, today=TODAY)
    assert first.ok and first.rows_quarantined == 0, first.row_messages[:5]
    assert {
        e: n for e, n in table(wh, "select extract, sum(rows_loaded)::int from loaded_files group by 1")
    } == {e: n for e, n in synth.rows.items() if n}
    second = ingest_folder(wh, tmp_path / "ex", mapping, classify=fake_classify, today=TODAY)
    assert second.files_loaded == 0 and second.files_skipped == first.files_loaded
