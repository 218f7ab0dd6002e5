"""Upkeep: reconciliation (03:00 Asia/Ho_Chi_Minh, the day before; on demand with params day and sources), the
personal-data retention purge (02:30), the sources' alerts (freshness, error rate; every 10 minutes) and their
figures for monitoring (every 5 minutes)."""

from onestop.airflow.dags import alerts_dag, metrics_dag, purge_dag, reconcile_dag

onestop_reconcile = reconcile_dag()
onestop_purge = purge_dag()
onestop_alerts = alerts_dag()
onestop_metrics = metrics_dag()
