"""Flow ``many-landlords``: the same weekly review for several landlords at once, one landlord per task.

Each landlord keeps its own extracts, mapping, database, key and output folder; nothing is shared between them,
so the tasks can run side by side on any Prefect task runner: threads in this process by default, or Dask worker
processes (``dask_task_runner``: a local cluster, or the address of a running Dask scheduler; needs the optional
extra ``pip install -e ".[distributed]"``), see docs/scaling.md.

Keys: a landlord's database key is read from the environment variable its job names (``key_env``), inside the
task, so no key is ever a flow or task parameter (Prefect stores parameters in its database). One process-wide
``REDFLAGS_DB_KEY`` cannot serve several landlords in threads of one process. On Dask the variable is read in
the worker process, from the worker's own environment: the key never travels between processes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from pipelines.core.errors import ConfigError, UserError
from pipelines.core.weeks import last_sunday
from pipelines.flows.weekly_review import WeeklyResult, check_inputs, weekly_steps
from pipelines.warehouse.connection import open_warehouse
from pipelines.warehouse.crypto import KEY_ENV

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandlordJob:
    name: str
    extracts: Path
    mapping: Path
    db: Path
    out: Path
    config: Path | None = None
    allow_unencrypted: bool = False
    key_env: str = KEY_ENV  # the environment variable holding this landlord's database key


_REQUIRED = ("name", "extracts", "mapping", "db", "out", "key_env")
_PATHS = ("extracts", "mapping", "db", "out", "config")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def load_landlords(path: Path) -> list[LandlordJob]:
    """The landlords file (YAML) of ``redflags many``: a ``landlords:`` list, one entry per landlord with
    ``name``, ``extracts``, ``mapping``, ``db``, ``out``, ``key_env`` (the *name* of the environment variable
    holding its database key) and optionally ``config`` and ``allow_unencrypted``. Relative paths are read from
    the file's folder. Raises ``ConfigError`` naming the file, the entry and the field."""
    import yaml

    if not path.is_file():
        raise ConfigError(f"the landlords file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not a YAML file ({type(exc).__name__})") from None
    entries = data.get("landlords") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: expected a 'landlords:' list with one entry per landlord")
    known = {f.name for f in fields(LandlordJob)}
    jobs = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: landlord {number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} is not a mapping of name, extracts, mapping, db, out and key_env")
        if entry.get("name") is not None:
            where += f" ({entry['name']})"
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown field {unknown[0]!r} (expected {', '.join(sorted(known))})")
        missing = [name for name in _REQUIRED if not entry.get(name)]
        if missing:
            raise ConfigError(f"{where}: {missing[0]!r} is missing")
        if not isinstance(entry["key_env"], str) or not _VARIABLE.fullmatch(entry["key_env"]):
            # Also what stops a key itself being written here: the file names variables, never holds keys.
            raise ConfigError(
                f"{where}: key_env must be the name of an environment variable (letters, digits, _)"
            )
        values = dict(entry)
        for name in _PATHS:
            if values.get(name) is not None:
                values[name] = path.parent / Path(str(values[name])).expanduser()
        values["name"] = str(values["name"])
        values["allow_unencrypted"] = values.get("allow_unencrypted") is True
        jobs.append(LandlordJob(**values))
    names = [job.name for job in jobs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"{path}: the landlord name {repeated[0]!r} appears twice")
    return jobs


@task(name="landlord-week", cache_policy=NO_CACHE)
def landlord_week(job: LandlordJob, as_of: dt.date, duckdb_threads: int | None = None) -> WeeklyResult:
    """The weekly-review steps for one landlord, with that landlord's own key; the steps are nested task runs.

    ``duckdb_threads``: DuckDB's threads for this landlord's connection (None = DuckDB's default, every core of
    the machine). Worker processes sharing a machine set it to their share of the cores, so that two landlords
    side by side do not each split their queries over every core."""

    key = os.environ.get(job.key_env) or None
    if key is None and not job.allow_unencrypted:
        raise UserError(f"{job.name}: {job.key_env} is not set (the database key for this landlord)")
    settings = check_inputs(job.extracts, job.mapping, job.config)  # before a database is made for nothing
    with open_warehouse(job.db, allow_unencrypted=job.allow_unencrypted, key=key) as wh:
        if duckdb_threads is not None:
            wh.con.execute(f"set threads = {int(duckdb_threads)}")
        return weekly_steps(wh, settings, as_of, job.extracts, job.mapping, job.out)


@dataclass(frozen=True)
class LandlordFailed:
    """A landlord whose weekly review did not finish; the others' go on (grain: landlord)."""

    name: str
    reason: str  # one sentence: the error's own for what a person can fix, else what kind of error it was


def _outcome(job: LandlordJob, future: Any) -> WeeklyResult | LandlordFailed:
    """The landlord's result, or why it failed: one landlord's missing key, folder or bad setting must not cost
    the partnership's other landlords their lists (the task run keeps the traceback in Prefect's logs)."""
    try:
        return future.result()  # type: ignore[no-any-return]
    except UserError as exc:  # ConfigError and KeyProblem too: a person can fix them
        reason = str(exc).removeprefix(f"{job.name}: ")
    except Exception as exc:
        reason = f"an unexpected {type(exc).__name__}: see the flow run's logs"
    log.error("landlord %s: the weekly review did not finish: %s", job.name, reason)
    return LandlordFailed(job.name, reason)


# Typed loosely: prefect 3.9's stubs declare the flow's runner invariant in its future type (a mypy false alarm).
_THREADS: Any = ThreadPoolTaskRunner(max_workers=4)


@flow(name="many-landlords", task_runner=_THREADS, validate_parameters=False)
def many_landlords(
    jobs: list[LandlordJob], as_of: dt.date, duckdb_threads: int | None = None
) -> dict[str, WeeklyResult | LandlordFailed]:
    """Each landlord's weekly review as one task on the flow's task runner (``with_options(task_runner=...)``:
    see ``dask_task_runner``). Jobs start in the order given: put the largest first. A landlord that fails is
    a ``LandlordFailed`` in the result (and an error in the log); the others finish."""
    if len({job.db.resolve() for job in jobs}) != len(jobs):
        raise UserError("two landlords share a database file: each landlord needs its own")
    if duckdb_threads is not None and duckdb_threads < 1:
        raise UserError(f"duckdb_threads must be at least 1, not {duckdb_threads}")
    futures = landlord_week.map(jobs, as_of=unmapped(as_of), duckdb_threads=unmapped(duckdb_threads))
    return {job.name: _outcome(job, future) for job, future in zip(jobs, futures, strict=True)}


@contextlib.contextmanager
def api_for_workers() -> Iterator[None]:
    """Makes the Prefect API this process uses explicit, so Dask worker processes report to the same one.

    With ``PREFECT_API_URL`` set (a Prefect server, as in a deployment) there is nothing to do. Without it, Prefect
    starts a temporary server for this process, which worker processes know nothing about: each would start one of
    its own and the landlords' task runs would be recorded apart from their flow run. This starts that temporary
    server here (the same one this process's client would start) and puts its address in the settings that travel
    with every task to the workers."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    server = SubprocessASGIServer()
    server.start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def worker_environment(workers: int) -> dict[str, str]:
    """Environment for local worker processes: each thread pool sized to the worker's share of the cores.

    Polars (every query result converts through it) starts a pool of one thread per core in every process, and an
    idle pool spins before it sleeps: two workers on two cores each ran a pool of two, and the spinning took CPU
    from the other worker's landlord (measured: 8 CPU-seconds of 58 for two 20,000-home landlords on two workers).
    Dask itself already caps the BLAS/OpenMP pools at one thread. Workers of a standing cluster (``dask worker``)
    get the same from the node's environment: docs/scaling.md."""
    share = max(1, (os.cpu_count() or 1) // max(1, workers))
    return {"POLARS_MAX_THREADS": str(share)}


DISTRIBUTED_MISSING = 'the Dask task runner needs the optional extra: pip install -e ".[distributed]"'


def dask_task_runner(*, address: str | None = None, workers: int = 2, memory_limit: str | None = None) -> Any:
    """A Prefect ``DaskTaskRunner``: on the running Dask scheduler at ``address`` (``tcp://host:8786``), or else on
    a local cluster of ``workers`` worker processes started for the flow run and stopped after it.

    Local workers run one task at a time (one thread each: a landlord's ingest already keeps two threads busy
    and DuckDB splits its queries over threads), and ``memory_limit`` (Dask's form, ``"4GiB"``; None = the
    machine's memory shared out) is each worker's. Raises ``UserError`` when the extra is not installed."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise UserError(DISTRIBUTED_MISSING) from None
    if address:
        return DaskTaskRunner(address=address)
    if workers < 1:
        raise UserError(f"a local Dask cluster needs at least one worker, not {workers}")
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            # The dashboard on a free port: the default, 8787, may be held by another run or user of the machine
            # (None does not turn it off; it means the default).
            "dashboard_address": ":0",
            "memory_limit": memory_limit if memory_limit is not None else "auto",
            # Set in each worker process before it starts (Dask's Nanny): see worker_environment.
            "env": worker_environment(workers),
        },
    )


def runner_for(
    *, scheduler: str | None, workers: int | None, worker_memory: str | None, duckdb_threads: int | None
) -> tuple[Any, int | None]:
    """The task runner and DuckDB threads per landlord: the Dask scheduler at ``scheduler``, else a local cluster
    of ``workers`` processes (each landlord's queries then get that worker's share of this machine's cores unless
    ``duckdb_threads`` says otherwise), else None: the flow's own thread pool."""
    if scheduler:
        return dask_task_runner(address=scheduler), duckdb_threads
    if workers:
        threads = duckdb_threads or max(1, (os.cpu_count() or 1) // workers)
        return dask_task_runner(workers=workers, memory_limit=worker_memory), threads
    return None, duckdb_threads


@flow(name="partnership-week")
def partnership_week(
    landlords: str,
    as_of: dt.date | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    worker_memory: str | None = None,
    duckdb_threads: int | None = None,
) -> Any:
    """The deployable entry (``redflags many`` and a Prefect deployment, docs/scaling.md): every landlord of the
    landlords file through ``many-landlords`` for the week ending ``as_of`` (None: last Sunday), on the runner
    ``runner_for`` picks. Parameters are paths, names and numbers only: keys stay in the workers' environment.

    Returns ``{name: WeeklyResult | LandlordFailed}``. When any landlord failed, the flow run ends ``Failed``
    (naming them, so a deployment's failure alert fires) with the same dictionary as its data: call it with
    ``return_state=True`` and read ``state.result(raise_on_failure=False)`` to have every landlord's outcome."""
    jobs = load_landlords(Path(landlords))
    week = as_of or last_sunday(dt.date.today())
    runner, threads = runner_for(
        scheduler=scheduler, workers=workers, worker_memory=worker_memory, duckdb_threads=duckdb_threads
    )
    run: Any = many_landlords if runner is None else many_landlords.with_options(task_runner=runner)
    results = dict(run(jobs, week, duckdb_threads=threads))
    failed = [name for name, outcome in results.items() if isinstance(outcome, LandlordFailed)]
    if failed:
        return Failed(
            message=f"{len(failed)} of {len(results)} landlord(s) did not finish: {', '.join(failed)}",
            data=results,
        )
    return results
