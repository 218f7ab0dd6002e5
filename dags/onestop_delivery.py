"""Portal delivery, started whenever a load (or a re-drive) updates the dossiers Asset; and the re-drive DAG."""

from onestop.airflow.dags import delivery_dag, redrive_dag

onestop_deliver_portal = delivery_dag()
onestop_redrive = redrive_dag()
