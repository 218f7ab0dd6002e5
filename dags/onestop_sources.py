"""One sync DAG per source in config/sources.yaml (plan → extract → load)."""

from onestop.airflow_dags import source_dags

globals().update(source_dags())
