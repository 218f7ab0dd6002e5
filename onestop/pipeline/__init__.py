"""The pipeline: plan → extract (fetch, normalize, stage) → load (merge) for a source, and delivery to the portal.

Airflow's DAG files, the CLI, the operations, the tests and the benchmarks call these plain functions; none of
them needs a scheduler. `steps` (the sync), `normalize` (records → the merge's rows), `delivery` (the portal),
`safeguards` (breakers, the message log), `failpoints` (where the chaos suite stops a process).
"""

from onestop.pipeline.delivery import DeliveryCounts, deliver
from onestop.pipeline.normalize import (
    defects_json,
    few_collections,
    normalize_chunk,
    normalize_processes,
    normalized,
    parse_payload,
    payload_defects,
    payload_digest,
    staging_id,
)
from onestop.pipeline.safeguards import (
    anchor_file,
    archive_dir,
    breaker_for,
    log_key,
    log_page,
    open_message_log,
)
from onestop.pipeline.steps import StagingLost, acknowledge, extract, failed, load, plan, stage, sync

__all__ = [
    "DeliveryCounts",
    "StagingLost",
    "acknowledge",
    "anchor_file",
    "archive_dir",
    "breaker_for",
    "defects_json",
    "deliver",
    "extract",
    "failed",
    "few_collections",
    "load",
    "log_key",
    "log_page",
    "normalize_chunk",
    "normalize_processes",
    "normalized",
    "open_message_log",
    "parse_payload",
    "payload_defects",
    "payload_digest",
    "plan",
    "stage",
    "staging_id",
    "sync",
]
