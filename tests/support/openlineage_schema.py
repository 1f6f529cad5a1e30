"""Validate OpenLineage events against the specification's JSON schema (vendored in openlineage_spec/).

The core schema types each facet only as a generic facet (``_producer``, ``_schemaURL``), so every
facet is validated again against the schema its own ``_schemaURL`` names, offline: all the
specification's files are registered under their ``$id`` (``referencing``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import jsonschema
from referencing import Registry, Resource

SPEC = Path(__file__).resolve().parent / "openlineage_spec"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


@cache
def _registry() -> Registry:
    documents = [
        json.loads(path.read_text()) for path in [SPEC / "OpenLineage.json", *sorted(SPEC.glob("facets/*.json"))]
    ]
    return Registry().with_resources((document["$id"], Resource.from_contents(document)) for document in documents)


def _validator(reference: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        {"$ref": reference}, registry=_registry(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _facets(event: dict) -> Iterator[tuple[str, dict]]:
    holders = [("run", event["run"]), ("job", event["job"])]
    for side in ("inputs", "outputs"):
        for dataset in event.get(side, []):
            holders.append((f"{side} {dataset['name']}", dataset))
    for where, holder in holders:
        for kind in ("facets", "inputFacets", "outputFacets"):
            for name, facet in (holder.get(kind) or {}).items():
                yield f"{where} {kind}.{name}", facet


def problems(event: dict) -> list[str]:
    """Every way ``event`` breaks the specification (empty when it is valid)."""
    found = [f"event: {error.message}" for error in _validator(RUN_EVENT).iter_errors(event)]
    for where, facet in _facets(event):
        url = facet.get("_schemaURL", "")
        if not url.startswith("https://openlineage.io/spec/"):
            found.append(f"{where}: _schemaURL {url!r} is not a facet of the specification")
            continue
        found += [f"{where}: {error.message}" for error in _validator(url).iter_errors(facet)]
    return found
