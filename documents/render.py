"""Drawing a document from its description: the one entry point for whoever
renders outside a turn (delivery, exports).

A description is a renderer's name and its keyword arguments, all plain data
(every text already in the reader's language), so it can be stored in an
outbox row and drawn later, off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from documents.certificate import certificate_pdf
from documents.charts import bar_chart, radar_chart
from documents.xlsx import workbook

RENDERERS: dict[str, Callable[..., bytes]] = {
    "radar": radar_chart,
    "bar": bar_chart,
    "certificate": certificate_pdf,
    "xlsx": workbook,
}


def render(kind: str, spec: dict[str, Any]) -> bytes:
    """The bytes (PNG, PDF or XLSX) that renderer `kind` draws from `spec`."""
    try:
        renderer = RENDERERS[kind]
    except KeyError:
        raise ValueError(f"no renderer named {kind!r}") from None
    arguments = dict(spec)
    if kind == "bar" and "size_px" in arguments:
        arguments["size_px"] = tuple(arguments["size_px"])  # JSON has no tuples
    return renderer(**arguments)
