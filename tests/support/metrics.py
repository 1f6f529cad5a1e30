"""Scraping the metrics exporter as Prometheus does, and reading the samples with prometheus_client's parser."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Scrape:
    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    @property
    def names(self) -> set[str]:
        return {name for name, _ in self.samples}

    def value(self, name: str, **labels: str) -> float:
        """The one sample of ``name`` with exactly ``labels``; KeyError naming what there was."""
        key = (name, frozenset(labels.items()))
        if key not in self.samples:
            found = sorted(dict(sample_labels) for sample_name, sample_labels in self.samples if sample_name == name)
            raise KeyError(f"no sample {name}{labels}; the scrape has {name} with {found}")
        return self.samples[key]

    def series(self, name: str) -> dict[frozenset[tuple[str, str]], float]:
        return {labels: value for (sample, labels), value in self.samples.items() if sample == name}


def scrape(url: str) -> Scrape:
    with urllib.request.urlopen(url, timeout=60) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Scrape(text, samples)
