"""What administrators and data engineers run on the pipeline's results: trace a dossier, re-drive
failures, reconcile with a district, retention, alerts, health, and `mapping try`/`source preview`."""
