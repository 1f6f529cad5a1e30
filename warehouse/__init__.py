"""The warehouse as data, on either backend: its layout (schemas and table names), its catalog,
transactions, locks and the environment that created it. No Dagster: ingestion, publishing and
the day-2 operations use it as they are, and resources/warehouse.py opens the connections."""
