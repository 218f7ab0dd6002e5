"""One sync DAG per source in config/sources.yaml (plan → extract → load), and its day-by-day archive DAG for backfills."""

from onestop.airflow.dags import source_dags

globals().update(source_dags())
