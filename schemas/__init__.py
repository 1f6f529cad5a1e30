"""Pandera (polars API) models, one module per dataset, named from ``config/datasets/``.

Each model is the contract for a landed file *after* casting: column types, nullability, ranges
and allowed values, with the reason for each rule beside it. Primary-key uniqueness is applied
from the dataset config at validation time, so the key is declared in exactly one place.
"""
