"""Charts are real PNGs in Markdown, and drawing is the only thing that imports matplotlib."""

import base64
import re
import subprocess
import sys
from pathlib import Path

from analytics.charts import bar_chart

ROOT = Path(__file__).resolve().parents[2]


def png_of(markdown: str) -> bytes:
    [encoded] = re.findall(r"^!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)$", markdown)
    return base64.b64decode(encoded)


def test_a_bar_chart_is_a_png_image_in_markdown():
    chart = bar_chart(["United", "Delta", "JetBlue"], [81.2, 83.4, 76.0], title="On-time rate", unit="%")
    png = png_of(chart.value)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (750, 380)
    assert chart.value.startswith("![On-time rate](")


def test_many_bars_make_a_taller_chart():
    labels = [f"carrier {n}" for n in range(16)]
    png = png_of(bar_chart(labels, list(range(16)), title="t").value)
    assert int.from_bytes(png[20:24], "big") > 380


def test_loading_the_definitions_does_not_import_matplotlib():
    code = "import sys, definitions; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "False", result.stderr[-2000:]
