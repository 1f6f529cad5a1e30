"""Every name this project takes from dbt-duckdb's internals, and why.

dbt-duckdb is pinned in uv.lock, so these move only with a deliberate upgrade;
tests/resources/test_dbt_in_process.py fails if what is used of them changes.

dbt in the run worker's own process (resources/dbt_in_process.py) must close the DuckDB database
dbt-duckdb keeps open between invocations in a class attribute; only its connection manager holds it.
"""

from dbt.adapters.duckdb.connections import DuckDBConnectionManager

__all__ = ["DuckDBConnectionManager"]
