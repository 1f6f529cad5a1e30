"""A small synthetic project the core's tests run on: a shop's daily orders and its customers.

The template's own tests must pass in any project made from it, whatever that project's datasets,
so they never read the project's content (config/datasets/, schemas/, dbt_project/models/,
analytics/). They run on this instead: its datasets (``datasets.yaml``), Pandera models
(``schemas/``), dbt models (``dbt/``, built into a dbt project of their own beside the pipeline's
macros: tests/support/synthetic.py), analytics (``analytics/``) and a feed that delivers its days
(``feed.py``).
"""
