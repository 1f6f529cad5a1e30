"""Python analytics downstream of the dbt marts: what each table computes (Polars) and how it is charted.

Each module here declares ``AnalyticsSpec`` objects at module level; assets/analytics.py makes every
one found an asset of the analytics layer, reading its mart and writing ``analytics.<name>``. A new
analytics table is a spec in a module of this package, with no asset code.
"""
