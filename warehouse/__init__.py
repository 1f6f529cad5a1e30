"""The warehouse, on either backend: what a warehouse does (backend.py) and the two backends that do
it (file.py, a DuckDB file; lake.py, a DuckLake opened by ducklake.py), its layout (schemas and table
names), its catalog, transactions, locks and the environment that created it. No Dagster: ingestion,
publishing and the day-2 operations use it as they are; resources/warehouse.py picks the backend."""
