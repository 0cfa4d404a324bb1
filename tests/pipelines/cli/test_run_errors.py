"""What `redflags run` says when something is wrong: one sentence per cause, the documented exit codes, and
nothing from Prefect's engine on the terminal (docs/contract.md "Exit codes")."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.cli.main import main
from pipelines.synth.standard import write_landlord
from pipelines.warehouse.connection import open_warehouse, query

AS_OF = dt.date(2025, 6, 29)
KEY = "run-errors-test-key"


@pytest.fixture(scope="module")
def landlord(tmp_path_factory: pytest.TempPathFactory) -> Path:
    extracts = tmp_path_factory.mktemp("ll") / "extracts"
    write_landlord(extracts, homes=300, years=1, seed=5, as_of=AS_OF)
    return extracts


def _argv(landlord: Path, tmp: Path, as_of: dt.date = AS_OF, *extra: str) -> list[str]:
    return [
        "run",
        "--extracts",
        str(landlord),
        "--mapping",
        str(landlord / "mapping.yaml"),
        "--as-of",
        as_of.isoformat(),
        "--db",
        str(tmp / "rf.duckdb"),
        "--out",
        str(tmp / "out"),
        *extra,
    ]


def _cli(argv: list[str], key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    """The real console script in a fresh process: what a person or a scheduler sees."""
    env = {k: v for k, v in os.environ.items() if k != "REDFLAGS_DB_KEY"}
    if key is not None:
        env["REDFLAGS_DB_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli.main", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.mark.slow
def test_a_corrupt_file_fails_alone_with_one_sentence(
    landlord: Path, tmp_path: Path, db_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    extracts = tmp_path / "extracts"
    shutil.copytree(landlord, extracts)
    partial = extracts / "repairs" / "repairs_WK2025-06-27_partial.csv"
    partial.write_bytes(bytes(range(256)) * 64)  # a half-transferred binary file
    # A new export saved under a name the mapping does not know, at the top of the folder: named, not loaded.
    shutil.copy(next((extracts / "asb").iterdir()), extracts / "ASB cases June.csv")
    assert main(_argv(extracts, tmp_path)) == 1
    captured = capsys.readouterr()
    assert (
        "  NOT LOADED: ASB cases June.csv: no extract of the mapping matches its name (the mapping's `files`)"
        in captured.out.splitlines()
    )
    assert (
        "WARNING: 1 file(s) in the extracts folder match no extract of the mapping and were not loaded (the "
        "run's output names them)." in captured.out.splitlines()
    )
    failed = [line for line in captured.out.splitlines() if "FAILED" in line]
    assert failed == [
        "  FAILED: repairs/repairs_WK2025-06-27_partial.csv: holds binary data, not CSV text: a partial "
        "transfer, or the wrong file?"
    ]
    assert "Traceback" not in captured.err + captured.out
    assert (tmp_path / "out" / AS_OF.isoformat() / "review_list.csv").exists()  # the rest loaded and listed
    with open_warehouse(tmp_path / "rf.duckdb", must_exist=True) as wh:
        assert query(wh.con, "select count(*) as n from loaded_files")["n"][0] > 50


@pytest.mark.slow
def test_an_early_week_says_why_the_list_is_empty_and_strict_exits_1(
    landlord: Path, tmp_path: Path, db_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first_files = min(p.name for p in (landlord / "repairs").iterdir())
    before = dt.date.fromisoformat(first_files.removeprefix("repairs_")[:10]) - dt.timedelta(days=14)
    assert main(_argv(landlord, tmp_path, before)) == 0
    out = capsys.readouterr().out
    assert "Listed 0 household(s)" in out
    warnings = [line for line in out.splitlines() if line.startswith("WARNING: ")]
    assert warnings == [
        "WARNING: The list is empty because nothing was known by then: no "
        f"repairs file is dated on or before {before + dt.timedelta(1):%d %b %Y} (the week's end plus the "
        f"publication lag) ({len(list((landlord / 'repairs').iterdir()))} are dated later).",
        f"WARNING: No rent file is known by {before + dt.timedelta(1):%d %b %Y}: the list is made without it.",
    ]
    assert "repairs: no file known yet; left out as not yet known:" in out
    assert main(_argv(landlord, tmp_path, before, "--strict", "--skip-ingest")) == 1
    # the warnings are kept with the run, for the monitoring report
    with open_warehouse(tmp_path / "rf.duckdb", must_exist=True) as wh:
        kept = query(wh.con, "select warnings from runs where kind = 'weekly-review' order by run_id")
    assert [len(w) for w in kept["warnings"].to_list()] == [2, 2]


@pytest.fixture
def locked_db(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A database held open for writing by another process, as a long run would hold it."""
    db = tmp_path / "rf.duckdb"
    with open_warehouse(db, key=KEY):
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
         "sys.stdin.read()", str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    try:
        yield db, holder.pid
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)


@pytest.mark.slow
def test_a_locked_database_names_the_process_and_exits_3(
    landlord: Path, tmp_path: Path, locked_db: tuple[Path, int]
) -> None:
    _, pid = locked_db
    done = _cli(_argv(landlord, tmp_path))
    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        f"redflags run: the database {tmp_path / 'rf.duckdb'} is in use by another process {pid} "
        f"(python{sys.version_info.major}.{sys.version_info.minor} -c import duckdb, sys; c = duckdb.connect"
        "(sys.argv[1]); print('ready', flush=True); sys.stdin.read()); try again when it finishes"
    ] or (
        len(done.stderr.splitlines()) == 1
        and f"in use by another process {pid} (" in done.stderr
        and done.stderr.rstrip().endswith("; try again when it finishes")
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("key", "code", "says"),
    [
        (
            "not-the-key",
            3,
            "redflags run: the key in REDFLAGS_DB_KEY is not the key this database was created",
        ),
        (None, 3, "redflags run: this database is encrypted: set REDFLAGS_DB_KEY to its key"),
    ],
)
def test_a_wrong_or_missing_key_is_one_sentence_and_exits_3(
    landlord: Path, tmp_path: Path, key: str | None, code: int, says: str
) -> None:
    with open_warehouse(tmp_path / "rf.duckdb", key=KEY):
        pass
    done = _cli(_argv(landlord, tmp_path), key=key)
    assert done.returncode == code
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(says)
    assert "Traceback" not in done.stdout


def test_a_missing_folder_or_mapping_exits_2(
    landlord: Path, tmp_path: Path, db_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv(landlord, tmp_path)
    argv[argv.index("--mapping") + 1] = str(tmp_path / "nowhere.yaml")
    assert main(argv) == 2
    assert (
        capsys.readouterr().err
        == f"redflags run: the mapping file {tmp_path / 'nowhere.yaml'} does not exist\n"
    )
    argv = _argv(tmp_path / "no-such-folder", tmp_path)
    argv[argv.index("--mapping") + 1] = str(landlord / "mapping.yaml")
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"redflags run: the extracts folder {tmp_path / 'no-such-folder'} does not exist\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("extracts:\n  repairs:\n    files: r*.csv\n    known_on: sometimes\n", encoding="utf-8")
    argv = _argv(landlord, tmp_path)
    argv[argv.index("--mapping") + 1] = str(bad)
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(
        "redflags run: bad.yaml: extracts.repairs.known_on: 'sometimes' is"
    )


def test_the_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for line in (
        "0  done",
        "1  some files could not be loaded",
        "2  usage or configuration",
        "3  the database",
    ):
        assert line in out
