"""The layers of the asset graph, and the one group every asset is in.

A layer is the first part of an asset key (``raw/orders``, ``marts/fct_orders``): the catalog
shows the keys as folders, and each asset also carries a ``layer`` tag. They are not Dagster
groups on purpose: the lineage graph opens every group collapsed when there is more than one, so
one group (the project's name) is what makes the whole pipeline visible at a glance, left to right.
"""

import dagster as dg

from config.names import raw_asset_path
from config.project import IDENTIFIER

# Each data layer is named after the warehouse schema its assets write (warehouse/layout.py).
from warehouse.layout import ANALYTICS, MARTS, RAW, STAGING

PIPELINE_GROUP = IDENTIFIER  # the project's name

READERS = "readers"  # the file backend's copy for readers (assets/readers_copy.py)
OPERATIONS = "operations"
LAYERS = (RAW, STAGING, MARTS, ANALYTICS, READERS, OPERATIONS)


def raw_asset_key(dataset: str) -> dg.AssetKey:
    """The raw asset of a dataset: the Python asset that writes ``raw.<dataset>``, and the asset key
    its dbt source carries (``meta.dagster.asset_key`` in the generated _sources.yml), so lineage joins."""
    return dg.AssetKey(raw_asset_path(dataset))
