"""The Sarabun font files, found inside the installed `fontpkg-sarabun` package.

Thai official documents use the Sarabun family. The TTF files ship inside the
`fontpkg_sarabun` Python package (folder `files/`, described by its
`metadata.json`), so nothing is fetched at run time. `sarabun()` gives the
paths (for fpdf2); `mpl_font()` registers both files with matplotlib's font
manager once and gives a `FontProperties` that points at the exact file.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
import json
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from matplotlib.font_manager import FontProperties

PACKAGE = "fontpkg_sarabun"
FAMILY = "Sarabun"
REGULAR_WEIGHT = 400
BOLD_WEIGHT = 700


class FontNotAvailable(RuntimeError):
    """The Sarabun font package is not installed or does not hold the needed files."""


@dataclass(frozen=True)
class SarabunFonts:
    """Paths of the two Sarabun files the documents use."""

    regular: Path
    bold: Path


# Keeps files extracted from a zipped install alive until the process ends.
_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def _file_for_weight(root: Traversable, meta: dict, weight: int) -> Path:
    """The upright file of `weight` listed in the package's metadata."""
    for entry in meta.get("files", []):
        if entry.get("style") == "normal" and entry.get("weight") == weight:
            resource = root.joinpath(*entry["path"].split("/"))
            if not resource.is_file():
                break
            return Path(_extracted.enter_context(importlib.resources.as_file(resource)))
    raise FontNotAvailable(
        f"the {PACKAGE} package has no upright {FAMILY} file of weight {weight}; "
        "reinstall it with: pip install --force-reinstall fontpkg-sarabun"
    )


@cache
def sarabun() -> SarabunFonts:
    """Locate Sarabun Regular and Bold; raise `FontNotAvailable` with a fix if missing."""
    try:
        root = importlib.resources.files(PACKAGE)
    except ModuleNotFoundError as exc:
        raise FontNotAvailable(
            f"the {FAMILY} font is needed for charts and certificates but the "
            f"{PACKAGE} package is not installed: pip install fontpkg-sarabun"
        ) from exc
    try:
        meta = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FontNotAvailable(
            f"the {PACKAGE} package has no readable metadata.json: {exc}"
        ) from exc
    return SarabunFonts(
        regular=_file_for_weight(root, meta, REGULAR_WEIGHT),
        bold=_file_for_weight(root, meta, BOLD_WEIGHT),
    )


# matplotlib's text layout and font caches are process-wide: everything in
# documents that draws with matplotlib holds this lock while it does.
MATPLOTLIB_LOCK = threading.RLock()
_mpl_lock = threading.Lock()
_mpl_registered = False


def register_with_matplotlib() -> SarabunFonts:
    """Add Sarabun Regular and Bold to matplotlib's font manager (once per process)."""
    global _mpl_registered
    fonts = sarabun()
    if _mpl_registered:
        return fonts
    with _mpl_lock:
        if not _mpl_registered:
            from matplotlib import font_manager

            for path in (fonts.regular, fonts.bold):
                font_manager.fontManager.addfont(str(path))
            _mpl_registered = True
    return fonts


def mpl_font(*, bold: bool = False, size: float | None = None) -> FontProperties:
    """A matplotlib `FontProperties` for Sarabun (Regular or Bold), tied to the file.

    A new object each call: `FontProperties` is mutable, so it is never shared.
    """
    from matplotlib.font_manager import FontProperties

    fonts = register_with_matplotlib()
    return FontProperties(
        family=FAMILY,
        weight="bold" if bold else "normal",
        fname=str(fonts.bold if bold else fonts.regular),
        size=size,
    )
