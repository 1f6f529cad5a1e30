"""Charts for the UI: a PNG drawn with matplotlib, embedded in Markdown metadata.

The Dagster UI renders Markdown metadata, and its sanitiser lets ``data:`` image sources through, so
a chart is a base64 PNG in a Markdown image; the UI shows it under the entry's "Show Markdown".
matplotlib is imported here, when a chart is drawn, never at module import: only the few run
workers that draw pay for its import.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import dagster as dg

# Sized for the UI's metadata dialog; 100 dpi keeps a chart around 10-20 KB of event log.
FIGURE_INCHES = (7.5, 3.8)
DPI = 100
BAR_COLOR = "#4f43dd"  # Dagster's own accent


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, unit: str = ""
) -> dg.MarkdownMetadataValue:
    """A horizontal bar chart, largest first, each bar labelled with its value."""
    import matplotlib

    matplotlib.use("Agg")  # no display: drawing only
    import matplotlib.pyplot as plt

    height = max(FIGURE_INCHES[1], 0.32 * len(labels) + 1)
    figure, axes = plt.subplots(figsize=(FIGURE_INCHES[0], height), dpi=DPI)
    try:
        positions = range(len(labels))
        bars = axes.barh(positions, values, color=BAR_COLOR)
        axes.set_yticks(list(positions), labels=list(labels))
        axes.invert_yaxis()  # the first label on top
        axes.bar_label(bars, labels=[f"{value:,.1f}{unit}" for value in values], padding=3, fontsize=8)
        axes.set_title(title, fontsize=11, loc="left")
        axes.spines[["top", "right"]].set_visible(False)
        axes.margins(x=0.15)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{encoded})")
