"""Airflow integration: the DAG factories, the provider (connection types, hooks, notifiers), the
environment and cluster helpers, distributed mode and the metrics sent through Airflow's stats."""
