"""What the pipeline tells the tools outside Dagster's UI: Prometheus metrics, OpenLineage events, SLA alerts."""
