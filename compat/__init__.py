"""The Dagster internals this project needs, named in one place (compat/dagster.py)."""
