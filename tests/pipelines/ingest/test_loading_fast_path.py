"""The typed fast path (``loading.read_typed``) loads exactly what the careful path loads, and steps aside for
anything it cannot read the same way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from pipelines.ingest import folder as ingest_extracts
from pipelines.ingest import loading
from pipelines.synth.standard import write_landlord
from pipelines.warehouse.connection import query
from pipelines.warehouse.references import REFERENCE_COLUMNS, reveal
from tests.pipelines.ingest.ingest_helpers import (
    REPAIRS_MAPPING,
    ingest,
    new_warehouse,
    repairs_csv,
    table,
    write_mapping,
)

AS_OF = dt.date(2025, 6, 29)
RAW = ("raw_repairs", "raw_rent", "raw_asb", "raw_recharges", "raw_tenancies", "raw_properties",
       "raw_known_cases", "raw_planned_works")  # fmt: skip


def _one_thread(wh: Any) -> Any:
    wh.con.execute("set threads = 1")
    return wh


def _contents(wh: Any) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for t in RAW:
        cols = [r[0] for r in wh.con.sql(f"describe {t}").fetchall() if r[0] != "file_id"]
        out[t] = table(wh, f"select l.file_name, {', '.join('t.' + c for c in cols)} from {t} t "
                           "join loaded_files l using (file_id) order by all")  # fmt: skip
    out["quarantine"] = table(wh, "select extract, file_name, source_row, column_name, reason from quarantine "
                                  "order by all")  # fmt: skip
    out["loaded"] = table(wh, "select extract, file_name, rows_read, rows_loaded, rows_quarantined, known_on "
                              "from loaded_files order by all")  # fmt: skip
    return out


@pytest.fixture(scope="module")
def landlord(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth") / "extracts"
    write_landlord(folder, homes=150, years=1, seed=7, as_of=AS_OF, rent_years=1)
    return folder


def test_the_fast_path_loads_what_the_careful_path_loads(
    landlord: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[dict[str, str] | None] = []
    real = loading.read_typed

    def spy(*args: Any, **kwargs: Any) -> dict[str, str] | None:
        taken.append(real(*args, **kwargs))
        return taken[-1]

    monkeypatch.setattr(loading, "read_typed", spy)
    # One extract at a time on one DuckDB thread: the claim is about the two paths, not about concurrency, and
    # the thread interleaving of two extracts loading side by side on a loaded machine must not enter it.
    monkeypatch.setattr(ingest_extracts, "EXTRACT_WORKERS", 1)
    fast = _one_thread(new_warehouse())
    assert ingest(fast, landlord, landlord / "mapping.yaml").ok
    assert any(t and "week_ending" in t for t in taken)  # rent went the fast way
    assert any(t and "reported_at" in t and "cost_gbp" in t for t in taken)  # so did repairs

    monkeypatch.setattr(loading, "read_typed", lambda *a, **k: None)
    careful = _one_thread(new_warehouse())
    assert ingest(careful, landlord, landlord / "mapping.yaml").ok
    assert _contents(fast) == _contents(careful)


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("J3,P3,T3,31/02/2025,x,E,open,", "reported_at: not a real calendar date"),
        ("J3,P3,T3,03/04/25,x,E,open,", "reported_at: not a date"),
        ("J3,P3,T3,2025-04-03,x,E,open,£12.50", None),  # another format and a pound sign: still loads
        ("J3,P3,T3,03/04/2025,x,E,open,twelve", "cost_gbp: not an amount of money"),
    ],
)
def test_a_value_the_fast_path_cannot_read_goes_the_careful_way(
    tmp_path: Path, bad_row: str, reason: str | None
) -> None:
    folder = tmp_path / "ex"
    good = [f"J{i},P{i},T{i},0{i}/04/2025,renew lock,E,open,1{i}.50" for i in (1, 2)]
    repairs_csv(folder / "repairs_2025-04-06.csv", [*good, bad_row], header=(
        "job_ref,property_ref,tenancy_ref,reported_at,description,priority,status,cost_gbp\n"))  # fmt: skip
    wh = new_warehouse()
    summary = ingest(wh, folder, write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING))
    quarantined = table(wh, "select source_row, reason from quarantine")
    if reason is None:
        assert quarantined == [] and summary.rows_loaded == 3
        assert table(wh, "select cost_gbp from raw_repairs where job_ref = 'J3'") == [(pytest.approx(12.5),)]
    else:
        assert [(row, r.startswith(reason)) for row, r in quarantined] == [(4, True)]
        assert summary.rows_loaded == 2


def test_amounts_written_with_a_pound_sign_are_read_as_text_on_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sample showing '£' keeps the amount out of the reader's types, so the chunk is not read twice."""
    taken: list[dict[str, str] | None] = []
    real = loading.read_typed
    monkeypatch.setattr(loading, "read_typed", lambda *a, **k: taken.append(real(*a, **k)) or taken[-1])
    folder = tmp_path / "ex"
    rows = ["J1,P1,T1,01/04/2025,x,E,open,£1250.00", "J2,P2,T2,02/04/2025,x,E,open,12.5",
            "J3,P3,T3,02/04/2025,x,E,open,"]  # fmt: skip
    repairs_csv(folder / "repairs_2025-04-06.csv", rows, header=(
        "job_ref,property_ref,tenancy_ref,reported_at,description,priority,status,cost_gbp\n"))  # fmt: skip
    wh = new_warehouse()
    assert ingest(wh, folder, write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING)).rows_loaded == 3
    assert taken == [{"reported_at": "%d/%m/%Y"}]  # the fast path, with cost_gbp as text
    assert table(wh, "select job_ref, cost_gbp from raw_repairs order by 1") == [
        ("J1", pytest.approx(1250)),
        ("J2", pytest.approx(12.5)),
        ("J3", None),
    ]


@pytest.mark.parametrize(
    ("later_row", "fast"),
    [
        ('J3,P3,T3,03/04/2025,x,E,open,"£1,250.00"', True),  # amounts with a pound sign, after plain ones
        ("J3,P3,T3,03/04/2025,x,E,open,twelve", True),  # not an amount: quarantined by the same conversion
        ("J3,P3,T3,2025-04-03,x,E,open,12.50", True),  # another accepted date format, after day-first ones
        ("J3,P3,T3,31/02/2025,x,E,open,12.50", True),  # no such day
        ("J3,P3,T3,2025-04-03,x,E,open,£7", True),  # two columns at once
        ("J3,P3", False),  # a broken line: the careful path names it
    ],
)
def test_a_later_file_the_typed_read_cannot_cast_keeps_the_fast_path_and_loads_as_the_careful_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, later_row: str, fast: bool
) -> None:
    """The first file's sample shows plain amounts and day-first dates; a later file of the chunk does not. The
    column the reader could not cast is read as text, in a second typed read, instead of the whole chunk going
    the careful way; what is loaded and quarantined is the careful path's, to the row and reason."""
    folder = tmp_path / "ex"
    header = "job_ref,property_ref,tenancy_ref,reported_at,description,priority,status,cost_gbp\n"
    repairs_csv(folder / "repairs_2025-04-06.csv", [f"J{i},P{i},T{i},0{i}/04/2025,renew lock,E,open,1{i}.50"
                                                    for i in (1, 2)], header=header)  # fmt: skip
    repairs_csv(
        folder / "repairs_2025-04-13.csv", ["J4,P4,T4,04/04/2025,x,E,open,4.00", later_row], header=header
    )
    mapping = write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING)
    taken: list[dict[str, str] | None] = []
    real = loading.read_typed
    monkeypatch.setattr(loading, "read_typed", lambda *a, **k: taken.append(real(*a, **k)) or taken[-1])
    wh = new_warehouse()
    ingest(wh, folder, mapping)
    assert (taken[0] is not None) == fast
    monkeypatch.setattr(loading, "read_typed", lambda *a, **k: None)
    careful = new_warehouse()
    ingest(careful, folder, mapping)
    assert _contents(wh) == _contents(careful)
    assert table(wh, "select count(*) from raw_repairs")[0][0] >= 3


def test_free_text_joins_its_rows_by_the_text_whatever_its_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The encrypted texts are joined back to the batch by the text itself, never by position: even in reverse
    order no text lands on another household's repair."""
    folder = tmp_path / "ex"
    rows = [f"J{i},P{i},T{i},0{i}/04/2025,text of job {i},E,open," for i in range(1, 6)]
    repairs_csv(folder / "repairs_2025-04-06.csv", rows)
    real_query = loading.query

    def reversed_free_text(con: Any, sql: str, params: Any = None) -> Any:
        frame = real_query(con, sql, params)
        return frame.reverse() if " as text, " in sql else frame

    monkeypatch.setattr(loading, "query", reversed_free_text)
    wh = new_warehouse()
    assert ingest(wh, folder, write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING)).rows_loaded == 5
    stored = table(wh, "select job_ref, description_enc from raw_repairs order by job_ref")
    assert [(job, wh.cipher.decrypt(enc)) for job, enc in stored] == [
        (f"J{i}", f"text of job {i}") for i in range(1, 6)
    ]


def test_a_text_seen_in_an_earlier_chunk_keeps_its_labels_without_a_second_classification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.pipelines.ingest.ingest_helpers import fake_classify

    folder = tmp_path / "ex"
    repairs_csv(folder / "repairs_2025-04-06.csv", ["J1,P1,T1,01/04/2025,renew lock,E,open,"])
    repairs_csv(folder / "repairs_2025-04-13.csv", ["J2,P2,T2,08/04/2025,renew lock,E,open,",
                                                    "J3,P3,T3,08/04/2025,lock and police,E,open,"])  # fmt: skip
    monkeypatch.setattr(loading, "CHUNK_FILES", 1)  # each file its own chunk
    classified: list[str] = []

    def spy(texts: Any, codes: Any) -> Any:
        classified.extend(texts.to_list())
        return fake_classify(texts, codes)

    wh = new_warehouse()
    summary = loading_ingest(wh, folder, write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING), spy)
    assert summary.rows_loaded == 3
    assert sorted(classified) == ["lock and police", "renew lock"]  # "renew lock" once, for both chunks
    assert table(wh, "select job_ref, categories, has_police_ref from raw_repairs order by job_ref") == [
        ("J1", ["lock_change"], False),
        ("J2", ["lock_change"], False),
        ("J3", ["lock_change"], True),
    ]


def loading_ingest(wh: Any, folder: Path, mapping: Path, classify: Any) -> Any:
    from pipelines.ingest.folder import ingest_folder
    from pipelines.ingest.mapping import load_mapping
    from tests.pipelines.ingest.ingest_helpers import TODAY

    return ingest_folder(wh, folder, load_mapping(mapping), classify=classify, today=TODAY)


def test_a_chunk_encrypts_each_distinct_text_once_and_every_row_keeps_its_own_text_and_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.warehouse.connection import open_warehouse
    from tests.pipelines.ingest.ingest_helpers import fake_classify

    header = "job_ref,property_ref,tenancy_ref,reported_at,sor_code,description,priority,status,cost_gbp\n"
    folder = tmp_path / "ex"
    repairs_csv(folder / "repairs_2025-04-06.csv", [
        "J1,P1,T1,01/04/2025,S1,renew lock,E,open,",
        "J2,P2,T2,01/04/2025,S1,renew lock,E,open,",
        "J3,P3,T3,01/04/2025,S2,renew lock,E,open,",  # same words, another SOR code
        "J4,P4,T4,01/04/2025,,lock and police,E,open,",
        "J5,P5,T5,01/04/2025,S1,,E,open,",  # no description: quarantined (it is required), nothing encrypted
    ], header=header)  # fmt: skip
    repairs_csv(
        folder / "repairs_2025-04-13.csv", ["J6,P6,T6,08/04/2025,S1,renew lock,E,open,"], header=header
    )
    monkeypatch.setattr(loading, "CHUNK_FILES", 1)  # each file its own chunk
    encrypted: list[list[str | None]] = []
    classified: list[tuple[str, str | None]] = []

    def spy(texts: Any, codes: Any) -> Any:
        classified.extend(zip(texts.to_list(), codes.to_list(), strict=True))
        return fake_classify(texts, codes)

    wh = open_warehouse(tmp_path / "wh.duckdb", key="free-text-test-key")
    real_encrypt = wh.cipher.encrypt_many

    def counting(values: Any) -> Any:
        encrypted.append(list(values))
        return real_encrypt(values)

    monkeypatch.setattr(wh.cipher, "encrypt_many", counting)
    assert (
        loading_ingest(wh, folder, write_mapping(tmp_path / "m.yaml", REPAIRS_MAPPING), spy).rows_loaded == 5
    )
    stored = reveal(
        wh.con,
        wh.cipher,
        query(wh.con, "select job_ref, description_enc, categories, has_police_ref from raw_repairs"),
        REFERENCE_COLUMNS,
    ).sort("job_ref")
    assert [(job, wh.cipher.decrypt(enc), cats, police) for job, enc, cats, police in stored.rows()] == [
        ("J1", "renew lock", ["lock_change"], False),
        ("J2", "renew lock", ["lock_change"], False),
        ("J3", "renew lock", ["lock_change"], False),
        ("J4", "lock and police", ["lock_change"], True),
        ("J6", "renew lock", ["lock_change"], False),
    ]
    # One encryption per distinct (text, SOR code) of a chunk, one classification per pair in the whole load.
    assert sorted(map(sorted, encrypted)) == [["lock and police", "renew lock", "renew lock"], ["renew lock"]]
    assert sorted(classified, key=str) == [
        ("lock and police", None),
        ("renew lock", "S1"),
        ("renew lock", "S2"),
    ]
    tokens = {job: enc for job, enc, _, _ in stored.rows()}
    assert tokens["J1"] == tokens["J2"]  # one chunk, same words and code: one ciphertext
    assert tokens["J6"] != tokens["J1"]  # another chunk: a fresh nonce
    assert len({tokens["J1"], tokens["J3"], tokens["J4"]}) == 3


def test_extracts_loading_side_by_side_get_one_duckdb_thread_each_then_the_setting_back(
    landlord: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from pipelines.ingest import folder as ingest_extracts

    wh = new_warehouse()
    wh.con.execute("set threads = 2")
    both_running = threading.Barrier(2, timeout=30)
    seen: list[tuple[str, int]] = []
    real = ingest_extracts.load_extract

    def spy(w: Any, folder: Path, name: str, *args: Any, **kwargs: Any) -> Any:
        if name in ("rent", "repairs"):  # the two biggest start first, side by side
            both_running.wait()
            seen.append((name, w.con.sql("select current_setting('threads')").fetchall()[0][0]))
            both_running.wait()
        return real(w, folder, name, *args, **kwargs)

    monkeypatch.setattr(ingest_extracts, "load_extract", spy)
    assert ingest(wh, landlord, landlord / "mapping.yaml").ok
    assert sorted(seen) == [("rent", 1), ("repairs", 1)]
    assert wh.con.sql("select current_setting('threads')").fetchall()[0][0] == 2
