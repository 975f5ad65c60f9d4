"""The documents Terrain produces: the intervention report as a PDF, rendered from a
plain data object (no database, no Telegram), so it can be tested and benchmarked
on its own.

- `reports.data`: the frozen dataclasses the bot fills (`ReportData` and its parts).
- `reports.totals`: the pricing rules (`compute_totals`), used by the chat too.
- `reports.formatting`: money, numbers and dates in the document's language.
- `reports.pdf`: `build_report(data) -> bytes` (fpdf2; CPU-bound, run it off the
  event loop).
- `reports.images`: photo and signature preparation, the prepared-photo cache.
- `reports.verify`: verification codes, SHA-256, reading a code back from a PDF.
- `python -m reports sample|bench`: a sample report, and the speed/size benchmark.

Only the light modules are imported here; `reports.pdf` (fpdf2, Pillow) and
`reports.verify` (pypdf) are imported where they are used.
"""

from reports.data import (
    Acceptance,
    Attachment,
    ChecklistItem,
    Client,
    Company,
    DistanceTravel,
    FlatTravel,
    Intervention,
    Language,
    Location,
    Outcome,
    PartLine,
    Photo,
    PhotoTag,
    Pricing,
    ReportData,
    Sections,
)
from reports.totals import Totals, VatLine, compute_totals

__all__ = [
    "Acceptance",
    "Attachment",
    "ChecklistItem",
    "Client",
    "Company",
    "DistanceTravel",
    "FlatTravel",
    "Intervention",
    "Language",
    "Location",
    "Outcome",
    "PartLine",
    "Photo",
    "PhotoTag",
    "Pricing",
    "ReportData",
    "Sections",
    "Totals",
    "VatLine",
    "compute_totals",
]
