"""Flow ``many-landlords`` on a real Dask cluster of worker processes, against the same landlords run one by one.

Needs the optional extra (``pip install -e ".[distributed]"``); skipped, saying so, only when prefect-dask or
distributed is not installed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from pipelines.synth.standard import write_landlord

AS_OF = dt.date(2025, 6, 29)
NOT_INSTALLED = 'the optional extra is not installed (pip install -e ".[distributed]")'

# Three landlords of different sizes and seeds, so a list landing in the wrong folder cannot go unnoticed.
LANDLORDS = (("north", 180, 11), ("south", 240, 12), ("east", 150, 13))


def _key(name: str) -> str:
    return f"key-of-landlord-{name}-not-secret"


def _env(name: str) -> str:
    return f"LANDLORD_{name.upper()}_KEY"


# An xlsx file records the second it was written (docProps/core.xml, created and modified): the one part of a
# published file that is allowed to differ between two runs.
_WRITTEN_AT = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _content(path: Path) -> bytes | dict[str, bytes]:
    """A file's bytes; for a workbook, the bytes of every part, with the time it was written blanked."""
    if path.suffix != ".xlsx":
        return path.read_bytes()
    with zipfile.ZipFile(path) as book:
        return {part: _WRITTEN_AT.sub(rb"\1\2", book.read(part)) for part in book.namelist()}


def _published(out: Path) -> dict[str, bytes | dict[str, bytes]]:
    """Every file a run published under ``out``, by its path relative to ``out``."""
    return {str(p.relative_to(out)): _content(p) for p in sorted(out.rglob("*")) if p.is_file()}


def _jobs(root: Path, extracts: dict[str, Path], run: str) -> list:
    from pipelines.flows.many_landlords import LandlordJob

    for name, _, _ in LANDLORDS:
        (root / run / name).mkdir(parents=True)
    return [
        LandlordJob(
            name=name,
            extracts=extracts[name],
            mapping=extracts[name] / "mapping.yaml",
            db=root / run / name / "rf.duckdb",
            out=root / run / name / "out",
            key_env=_env(name),
        )
        for name, _, _ in LANDLORDS
    ]


def test_without_the_extra_the_dask_runner_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.core.errors import UserError
    from pipelines.flows.many_landlords import dask_task_runner

    monkeypatch.setitem(sys.modules, "prefect_dask", None)  # import fails as when it is not installed
    with pytest.raises(UserError, match=re.escape('pip install -e ".[distributed]"')):
        dask_task_runner(workers=2)


def test_a_local_cluster_is_worker_processes_of_one_thread_each() -> None:
    pytest.importorskip("prefect_dask", reason=NOT_INSTALLED)
    from pipelines.core.errors import UserError
    from pipelines.flows.many_landlords import dask_task_runner, worker_environment

    local = dask_task_runner(workers=3, memory_limit="3GiB")
    assert local.address is None
    assert local.cluster_kwargs["n_workers"] == 3
    assert local.cluster_kwargs["processes"] is True
    assert local.cluster_kwargs["threads_per_worker"] == 1
    assert local.cluster_kwargs["memory_limit"] == "3GiB"
    assert local.cluster_kwargs["dashboard_address"] == ":0"  # never the fixed 8787 another run may hold
    assert local.cluster_kwargs["env"] == worker_environment(3)
    remote = dask_task_runner(address="tcp://scheduler.example:8786", workers=3)
    assert remote.address == "tcp://scheduler.example:8786" and not remote.cluster_kwargs
    with pytest.raises(UserError, match="at least one worker"):
        dask_task_runner(workers=0)


def test_each_local_worker_sizes_its_polars_pool_to_its_share_of_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers on an 8-core machine: each worker process's polars pool has 4 threads, not 8 (the environment
    is set before the worker imports polars; set afterwards it would change nothing)."""
    pytest.importorskip("prefect_dask", reason=NOT_INSTALLED)
    import distributed

    from pipelines.flows.many_landlords import worker_environment

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    env = worker_environment(2)
    assert env == {"POLARS_MAX_THREADS": "4"}
    assert worker_environment(16) == {"POLARS_MAX_THREADS": "1"}

    def pool_size() -> int:
        import polars

        return int(polars.thread_pool_size())

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", env=env
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert sorted(client.run(pool_size).values()) == [4, 4]


def test_the_runner_follows_scheduler_then_workers_then_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("prefect_dask", reason=NOT_INSTALLED)
    from pipelines.flows.many_landlords import runner_for

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    remote, threads = runner_for(scheduler="tcp://s:8786", workers=4, worker_memory=None, duckdb_threads=None)
    assert remote.address == "tcp://s:8786" and threads is None  # the remote workers' own cores
    local, threads = runner_for(scheduler=None, workers=4, worker_memory="6GiB", duckdb_threads=None)
    assert local.cluster_kwargs["n_workers"] == 4 and local.cluster_kwargs["memory_limit"] == "6GiB"
    assert threads == 2  # 8 cores shared by 4 workers
    assert runner_for(scheduler=None, workers=4, worker_memory=None, duckdb_threads=3)[1] == 3
    assert runner_for(scheduler=None, workers=None, worker_memory=None, duckdb_threads=None) == (None, None)


@pytest.mark.slow
def test_dask_worker_processes_publish_what_sequential_runs_publish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("prefect_dask", reason=NOT_INSTALLED)
    distributed = pytest.importorskip("distributed", reason=NOT_INSTALLED)
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.flows.many_landlords import dask_task_runner, many_landlords

    extracts = {}
    for name, homes, seed in LANDLORDS:
        extracts[name] = tmp_path / "extracts" / name
        write_landlord(extracts[name], homes=homes, years=1, seed=seed, as_of=AS_OF)
    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        # Sequential: one landlord after another, in this process, with the keys in this process's environment.
        for name, _, _ in LANDLORDS:
            monkeypatch.setenv(_env(name), _key(name))
        sequential_jobs = _jobs(tmp_path, extracts, "sequential")
        one_at_a_time = many_landlords.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
        sequential = one_at_a_time(sequential_jobs, AS_OF)

        # Dask: the keys exist only in the worker processes' environment, none in this one, so a landlord whose
        # key were read here (or passed as a parameter) could not open its database.
        for name, _, _ in LANDLORDS:
            monkeypatch.delenv(_env(name))
        worker_env = {_env(name): _key(name) for name, _, _ in LANDLORDS}
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", env=worker_env
        ) as cluster:
            with distributed.Client(cluster) as client:
                worker_pids = set(client.run(os.getpid).values())
            dask_jobs = _jobs(tmp_path, extracts, "dask")
            on_dask = many_landlords.with_options(
                task_runner=dask_task_runner(address=cluster.scheduler_address)
            )
            dask = on_dask(dask_jobs, AS_OF, duckdb_threads=1)

        with get_client(sync_client=True) as prefect:
            stored = [run.parameters for run in prefect.read_flow_runs()]

    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    assert set(dask) == set(sequential) == {name for name, _, _ in LANDLORDS}
    for seq_job, dask_job in zip(sequential_jobs, dask_jobs, strict=True):
        name = seq_job.name
        assert sequential[name].files_failed == 0 and sequential[name].listed > 0
        # The same counts and list id (a fresh database's first run), in the job's own folder ...
        assert dask[name] == replace(sequential[name], folder=str(dask_job.out / AS_OF.isoformat()))
        # ... and every published file (CSV, xlsx, per-team folders, evidence, carried forward) byte for byte
        # (a workbook part by part, but for the time it was written).
        seq_files, dask_files = _published(seq_job.out), _published(dask_job.out)
        assert any(path.endswith("review_list.csv") for path in seq_files)
        assert seq_files.keys() == dask_files.keys()
        for path, content in seq_files.items():
            assert dask_files[path] == content, f"{name}: {path} differs between the Dask and sequential runs"
    # The lists differ between landlords: each landlord's list is its own, not one list copied three times.
    lists = {job.name: (job.out / AS_OF.isoformat() / "review_list.csv").read_bytes() for job in dask_jobs}
    assert len(set(lists.values())) == len(lists)

    # Prefect stored the variables' names as parameters, never a key.
    recorded = json.dumps(stored, default=str)
    assert _env("north") in recorded
    assert not any(_key(name) in recorded for name, _, _ in LANDLORDS)


@pytest.mark.slow
def test_redflags_many_runs_a_landlords_file_on_a_local_cluster_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("prefect_dask", reason=NOT_INSTALLED)
    pytest.importorskip("distributed", reason=NOT_INSTALLED)
    from pipelines.cli.main import main

    monkeypatch.delenv("REDFLAGS_DB_KEY", raising=False)
    entries = []
    for name, homes, seed in LANDLORDS[:2]:
        write_landlord(tmp_path / name / "extracts", homes=homes, years=1, seed=seed, as_of=AS_OF)
        monkeypatch.setenv(_env(name), _key(name))
        entries.append(
            f"  - name: {name}\n    extracts: {name}/extracts\n    mapping: {name}/extracts/mapping.yaml\n"
            f"    db: {name}/rf.duckdb\n    out: {name}/out\n    key_env: {_env(name)}\n"
        )
    # A third landlord whose key the workers do not have: it fails on its worker, the other two still publish.
    monkeypatch.delenv(_env("west"), raising=False)
    entries.append(
        "  - name: west\n    extracts: west/extracts\n    mapping: west/extracts/mapping.yaml\n"
        f"    db: west/rf.duckdb\n    out: west/out\n    key_env: {_env('west')}\n"
    )
    landlords = tmp_path / "landlords.yaml"
    landlords.write_text("landlords:\n" + "".join(entries), encoding="utf-8")

    code = main(["many", str(landlords), "--as-of", AS_OF.isoformat(), "--workers", "2"])

    printed = capsys.readouterr().out
    assert code == 1
    for name, _, _ in LANDLORDS[:2]:
        assert (tmp_path / name / "out" / AS_OF.isoformat() / "review_list.csv").is_file()
        assert f"  {name}: listed " in printed
    assert f"  west: FAILED: {_env('west')} is not set (the database key for this landlord)" in printed
    assert "1 of 3 landlord(s) did not finish: see FAILED above." in printed
    assert not (tmp_path / "west" / "out").exists()
    assert not any(_key(name) in printed for name, _, _ in LANDLORDS)
