"""The Unicode font of the report, taken from an installed package.

DejaVu Sans (regular and bold) as matplotlib ships it in
`matplotlib/mpl-data/fonts/ttf/`: static TrueType files (no variable font to
instantiate, which costs seconds), covering Latin with every accent, "œ", "€",
"—", Vietnamese, Polish, Greek, Cyrillic, and the ballot boxes ☑ ☐ of the checklist.

The files are found through the installed package's location (`find_spec`),
without importing matplotlib (which would pull numpy in for nothing) and without
reading any system font folder.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

FAMILY = "DejaVu"
"""The family name the PDF code selects with `set_font`."""

_PACKAGE = "matplotlib"
_FOLDER = ("mpl-data", "fonts", "ttf")
_FILES = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
}
# Only regular and bold: each font costs about 40 ms to load and to subset, for
# every document, and the layout needs no italics.


class FontNotFound(RuntimeError):
    """The package that ships the report font is not installed."""


@cache
def font_files() -> dict[str, Path]:
    """The TTF file of each style ("" regular, "B" bold)."""
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        folder = Path(location).joinpath(*_FOLDER)
        paths = {style: folder / name for style, name in _FILES.items()}
        if all(path.is_file() for path in paths.values()):
            return paths
    raise FontNotFound(
        f"the report font (DejaVu Sans) comes with the {_PACKAGE!r} package: install it"
    )
