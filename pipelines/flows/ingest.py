"""Flow ``ingest-extracts`` (``redflags ingest``): read the mapping, then load the new extract files."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.core.errors import retry_io
from pipelines.ingest.folder import load_new_files
from pipelines.ingest.loading import IngestSummary
from pipelines.ingest.mapping import load_mapping

read_mapping_task = task(name="read-mapping", cache_policy=NO_CACHE)(load_mapping)
# A share-drive hiccup is retried (retry_io), bad input is not; files already loaded are skipped on a retry.
load_new_files_task = task(
    name="load-new-files",
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=retry_io,
    cache_policy=NO_CACHE,
)(load_new_files)


@flow(name="ingest-extracts")
def ingest_extracts(
    extracts: str,
    mapping: str,
    db: str,
    out: str | None = None,
    allow_unencrypted: bool = False,
    config: str | None = None,
) -> IngestSummary:
    landlord_mapping = read_mapping_task(mapping)
    return load_new_files_task(db, allow_unencrypted, extracts, landlord_mapping, out, config)
