"""Portal delivery, started whenever a source's load updates the dossiers Asset."""

from onestop.airflow_dags import delivery_dag

onestop_deliver_portal = delivery_dag()
