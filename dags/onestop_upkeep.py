"""Daily upkeep: reconciliation (03:00 Asia/Ho_Chi_Minh, the day before; on demand with params day and sources)
and the personal-data retention purge (02:30)."""

from onestop.airflow_dags import purge_dag, reconcile_dag

onestop_reconcile = reconcile_dag()
onestop_purge = purge_dag()
