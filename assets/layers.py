"""The layers of the asset graph, and the one group every asset is in.

A layer is the first part of an asset key (``raw/flights``, ``marts/fct_flights``): the catalog
shows the keys as folders, and each asset also carries a ``layer`` tag. They are not Dagster
groups on purpose: the lineage graph opens every group collapsed when there is more than one, so
one group (``nyc_flights``) is what makes the whole pipeline visible at a glance, left to right.
"""

PIPELINE_GROUP = "nyc_flights"

RAW = "raw"
STAGING = "staging"
MARTS = "marts"
ANALYTICS = "analytics"
READERS = "readers"  # the file backend's copy for readers (assets/readers_copy.py)
OPERATIONS = "operations"
LAYERS = (RAW, STAGING, MARTS, ANALYTICS, READERS, OPERATIONS)
