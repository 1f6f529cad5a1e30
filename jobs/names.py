"""The names of the jobs whose runs load the raw layer (one home: the sensors, the automation
conditions and the benchmarks tell load runs apart by them)."""

# Loads only: a range of days (a burst, a backfill) or a UI launch; automation refreshes what is
# downstream once every load has ended, as one dbt build.
INGEST_JOB = "ingest"
# Loads one landed day (or reference files) and refreshes everything downstream in the same run:
# the landing sensor's run for a single day, so the day reaches the marts without a second run.
LAND_AND_REFRESH_JOB = "land_and_refresh"
LOAD_JOBS = (INGEST_JOB, LAND_AND_REFRESH_JOB)
