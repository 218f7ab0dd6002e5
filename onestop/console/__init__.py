"""The administrators' console: the failures, a dossier's trace and the sources' health, in Vietnamese, behind
Airflow's login (mounted into the Airflow UI by plugins/)."""
