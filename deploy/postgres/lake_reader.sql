-- A PostgreSQL role that can read a DuckLake catalog and nothing else: how dev and test reach
-- prod's lake (DATAOPS_PROD_LAKE_CATALOG=... user=<reader>). PostgreSQL itself refuses their writes,
-- whatever the project's own guard does. Run as the catalog's owner, in the catalog's database:
--
--   psql -d lake_prod -v reader=lake_reader -v password=... -f deploy/postgres/lake_reader.sql
--
-- Re-running it is harmless. Tables DuckLake adds later (a catalog upgrade) are covered by the
-- default privileges of the owner that runs this.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'reader', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'reader', :'password') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'reader') \gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'reader') \gexec
SELECT format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', :'reader') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO %I', :'reader') \gexec
-- Nothing else: no INSERT, UPDATE, DELETE, CREATE or TEMP privilege reaches the role, and no
-- privilege on the schema "quarantine", where the quarantine's own DuckLake keeps its tables
-- (warehouse/lake.py): quarantined rows hold records' contents, which readers must not see.
SELECT format('REVOKE CREATE ON SCHEMA public FROM %I', :'reader') \gexec
