"""The intervention report as a PDF: `build_report(data) -> bytes`.

One new `FPDF` per document (fpdf2 objects are not reusable nor thread-safe), A4,
DejaVu Sans from an installed package (`reports.fonts`). The content follows the
order of issue 4:

1. header on every page: logo, company block, title, number (page 1 also carries
   the QR code, see `_ReportPDF.header`);
2. client and intervention;
3. context, objective, methods with the checklist, work done, results, remarks
   (each left out when empty);
4. parts, pricing (`reports.totals`), payment terms;
5. acceptance of the work with both signatures;
6. annex: photos in a grid, then the other attachments, then the voice notes (each
   with its section, length and time: the report prints the typed text);
7. footer on every page: document number, verification code, "page n/N".

Photos are prepared by `reports.images` (upright, downscaled, RGB JPEG without
metadata), through the prepared-photo cache when one is given; the PDF embeds
those JPEG bytes as they are (DCTDecode), never an original. Preparation runs in
a few threads: Pillow releases the GIL while it decodes, resizes and encodes.

Rendering is CPU-bound and takes from a tenth of a second to a few seconds: the
bot runs it off the event loop (`asyncio.to_thread` or a process pool).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import re
import unicodedata
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import TypeVar, cast

import segno
from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont
from fpdf.util import Padding
from PIL import Image, ImageOps, UnidentifiedImageError

from reports.data import (
    Attachment,
    DistanceTravel,
    FlatTravel,
    Outcome,
    Photo,
    PhotoTag,
    ReportData,
    SignedOn,
    VoiceNote,
)
from reports.fonts import FAMILY, font_files
from reports.formatting import Formatter
from reports.images import PHOTO_QUALITY, ImageRejected, PreparedCache, prepare_photo
from reports.labels import Labels
from reports.totals import Totals, compute_totals
from reports.verify import KEYWORD_PREFIX

logger = logging.getLogger(__name__)

_PREPARE_WORKERS = max(1, min(4, os.cpu_count() or 1))
_LOGO_PIXELS = 600
"""Long side of the logo as drawn (38 mm at 400 dpi)."""
_SIGNATURE_PIXELS = 800
_MAX_PICTURE_PIXELS = 40_000_000

Color = tuple[int, int, int]
INK: Color = (25, 25, 25)
MUTED: Color = (105, 105, 105)
ACCENT: Color = (24, 72, 122)
RULE: Color = (185, 190, 198)
SHADE: Color = (236, 241, 247)
GREEN: Color = (20, 120, 55)
RED: Color = (180, 35, 35)
AMBER: Color = (190, 120, 0)

# Layout, in millimetres (A4 is 210 x 297).
MARGIN = 15.0
TOP = 10.0
BOTTOM = 18.0
"""Bottom margin: the footer sits below it."""
BODY_SIZE = 9.5
LINE = 4.6
LOGO_BOX = (38.0, 18.0)
QR_SIZE = 22.0
SIGNATURE_BOX_HEIGHT = 46.0
GRID_COLUMNS = 2
GRID_GAP = 6.0
PHOTO_BOX_HEIGHT = 62.0
CAPTION_HEIGHT = 13.0

_OUTCOME_COLORS: dict[Outcome, Color] = {
    Outcome.YES: GREEN,
    Outcome.PARTLY: AMBER,
    Outcome.NO: RED,
}
_TAG_COLORS: dict[PhotoTag, Color] = {PhotoTag.BEFORE: (90, 90, 90), PhotoTag.AFTER: ACCENT}
_PDF_LANGUAGES = {"fr": "fr-FR", "en": "en-GB"}


def build_report(
    data: ReportData, *, cache: PreparedCache | None = None, max_photo_side: int = 1600
) -> bytes:
    """Render the report described by `data` as PDF bytes.

    `cache` keeps prepared photos between renders (a re-render then reads no
    original); `max_photo_side` is the long side of the embedded photos in pixels.
    A photo that cannot be read is shown as "unreadable photo" and logged; it does
    not stop the report.
    """
    totals = compute_totals(data.pricing, data.parts)
    with ThreadPoolExecutor(max_workers=_PREPARE_WORKERS) as pool:
        # The photos are prepared in the background while the pages before the annex
        # are laid out: Pillow works without the GIL, the layout is Python.
        photos = [
            pool.submit(prepare_one, photo, cache=cache, max_side=max_photo_side)
            for photo in data.photos
        ]
        try:
            logo = clean_picture(data.company.logo, _LOGO_PIXELS, "company logo")
            pdf = _ReportPDF(data, _Picture.fit(logo, LOGO_BOX))
            _Body(pdf, pdf.data, totals).write(photos)
        finally:
            for future in photos:
                future.cancel()
    return bytes(pdf.output())


def printable(text: str, drawable: frozenset[int]) -> str:
    """`text` as the font can draw it.

    Composed accents (NFC: an iPhone may send "e" + combining accent), Windows line
    ends and tabs made plain, control characters and what the font has no glyph for
    (emoji, mostly) dropped rather than drawn as empty boxes.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if all(character == "\n" or ord(character) in drawable for character in text):
        return text
    marked = "".join(
        character if character == "\n" or ord(character) in drawable else "\x00"
        for character in text
    )
    # A dropped emoji takes the space that separated it with it: "ravi 👍" -> "ravi".
    marked = re.sub(r"(^|\n)\x00+ *", r"\1", marked)
    return re.sub(r" *\x00+", "", marked)


_Value = TypeVar("_Value")


def printable_report(data: _Value, drawable: frozenset[int]) -> _Value:
    """A copy of `data` (a dataclass, tuple or string) with every text `printable`."""
    if isinstance(data, Enum):
        return data
    if isinstance(data, str):
        return cast(_Value, printable(data, drawable))
    if isinstance(data, tuple):
        return cast(_Value, tuple(printable_report(item, drawable) for item in data))
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        changes = {
            field.name: printable_report(getattr(data, field.name), drawable)
            for field in dataclasses.fields(data)
            if isinstance(getattr(data, field.name), str | tuple)
            or dataclasses.is_dataclass(getattr(data, field.name))
        }
        return cast(_Value, dataclasses.replace(data, **changes))
    return data


def prepare_one(photo: Photo, *, cache: PreparedCache | None, max_side: int) -> bytes | None:
    """The prepared JPEG of a photo, or None (logged) if the photo cannot be read."""
    try:
        if cache is not None:
            return cache.get(photo.key, photo.source, max_side, PHOTO_QUALITY)
        original = photo.source() if callable(photo.source) else photo.source
        return prepare_photo(original, max_side=max_side, quality=PHOTO_QUALITY)
    except (ImageRejected, OSError) as error:
        logger.warning("photo %s left out of the report: %s", photo.key, error)
        return None


def clean_picture(data: bytes | None, max_side: int, what: str) -> Image.Image | None:
    """A logo or signature ready to draw: decoded, upright, at most `max_side` px.

    Drawing a decoded image (not the file) means nothing of the file but its pixels
    reaches the PDF: no EXIF, no text chunk. fpdf2 stores the alpha channel as a
    soft mask, so transparency is kept. None (logged) when `data` is empty or is
    not a picture.
    """
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > _MAX_PICTURE_PIXELS:
                raise ValueError(f"{opened.width}x{opened.height} is too large")
            picture = ImageOps.exif_transpose(opened)
            picture.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        logger.warning("%s left out of the report: %s", what, error)
        return None
    picture.thumbnail((max_side, max_side))
    if picture.mode not in ("RGB", "RGBA", "L", "LA"):
        transparent = picture.mode in ("PA", "RGBa", "La") or "transparency" in picture.info
        picture = picture.convert("RGBA" if transparent else "RGB")
    picture.info = {}
    return picture


@dataclasses.dataclass(frozen=True, slots=True)
class _Picture:
    """A cleaned picture and its size on the page, fitted in a box."""

    image: Image.Image
    width: float
    height: float

    @classmethod
    def fit(cls, image: Image.Image | None, box: tuple[float, float]) -> _Picture | None:
        if image is None:
            return None
        scale = min(box[0] / image.width, box[1] / image.height)
        return cls(image, image.width * scale, image.height * scale)


class _ReportPDF(FPDF):
    """An A4 document with the company header and the verification footer."""

    def __init__(self, data: ReportData, logo: _Picture | None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        for style, path in font_files().items():
            self.add_font(FAMILY, style, path)
        regular = self.fonts[FAMILY.lower()]
        drawable = frozenset(regular.cmap) if isinstance(regular, TTFFont) else frozenset()
        self.data = printable_report(data, drawable)
        """What the report prints: `data` with every text made drawable by the font."""
        self.logo = logo
        self.fmt = Formatter(data.language, data.timezone)
        self.labels = Labels(data.language)
        self.issued_at = data.issued_at or datetime.now(UTC)
        self.body_top = TOP
        """Where the body starts on the current page, below the header."""
        self.set_margins(MARGIN, TOP, MARGIN)
        self.set_auto_page_break(True, margin=BOTTOM)
        self.set_font(FAMILY, "", BODY_SIZE)
        self._set_metadata()

    def _set_metadata(self) -> None:
        data, number = self.data, self.data.intervention.number
        self.set_title(f"{self.labels('title')} {number}")
        self.set_author(data.company.name)
        self.set_subject(number)
        keywords = [number]
        if data.verification_code:
            keywords.append(f"{KEYWORD_PREFIX}{data.verification_code}")
        self.set_keywords(" ".join(keywords))
        self.set_creator("Terrain")
        self.set_creation_date(self.issued_at)
        self.set_lang(_PDF_LANGUAGES[data.language])

    # -- header and footer ------------------------------------------------------

    def header(self) -> None:
        """Company block on the left, title and number on the right, then a rule.

        Page 1 also carries the QR code under the number: it is the page a reader
        sees and scans first, the header has room beside the company block, and
        the footer of every page stays one line high, which leaves the body room.
        """
        left_bottom = self._company_block()
        right_bottom = self._title_block()
        if self.page_no() == 1:
            right_bottom = self._qr_block(right_bottom)
        bottom = max(left_bottom, right_bottom) + 2
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.5)
        self.line(MARGIN, bottom, self.w - MARGIN, bottom)
        self.set_line_width(0.2)
        self.set_text_color(*INK)
        self.set_font(FAMILY, "", BODY_SIZE)
        self.set_xy(MARGIN, bottom + 4)
        self.body_top = self.get_y()

    def _company_block(self) -> float:
        company, labels = self.data.company, self.labels
        x = MARGIN
        bottom = TOP
        if self.logo is not None:
            self.image(self.logo.image, x=x, y=TOP, w=self.logo.width, h=self.logo.height)
            x += self.logo.width + 4
            bottom = TOP + self.logo.height
        width = 118 - (x - MARGIN)
        self.set_xy(x, TOP)
        self.set_text_color(*INK)
        self.set_font(FAMILY, "B", 11.5)
        self.multi_cell(width, 5.5, company.name, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*MUTED)
        contact = " · ".join(
            part
            for part in (
                f"{labels('phone_short')} {company.phone}" if company.phone else "",
                company.email,
            )
            if part
        )
        legal = " · ".join(
            part
            for part in (
                f"{labels('siret')} {company.siret}" if company.siret else "",
                f"{labels('vat_number')} {company.vat_number}" if company.vat_number else "",
            )
            if part
        )
        for text in (company.address, contact, legal):
            if text:
                self.multi_cell(width, 3.6, text, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
        return max(bottom, self.get_y())

    def _title_block(self) -> float:
        labels, width = self.labels, 62.0
        x = self.w - MARGIN - width
        self.set_xy(x, TOP)
        self.set_text_color(*ACCENT)
        self.set_font(FAMILY, "B", 14.5)
        self.cell(width, 7, labels("title"), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_font(FAMILY, "B", 10.5)
        self.set_text_color(*INK)
        number = labels("number", number=self.data.intervention.number)
        self.cell(width, 5.5, number, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*MUTED)
        issued = labels("issued", date=self.fmt.date(self.issued_at))
        self.cell(width, 4, issued, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
        return self.get_y()

    def _qr_block(self, top: float) -> float:
        """The QR code (client link, else the verification code) and what it is for."""
        data, labels = self.data, self.labels
        content = data.client_link or data.verification_code
        if not content:
            return top
        y = top + 2
        x = self.w - MARGIN - QR_SIZE
        draw_qr(self, content, x, y, QR_SIZE)
        text_w = 40.0
        self.set_xy(x - 2 - text_w, y + 2)
        if data.verification_code:
            self.set_font(FAMILY, "", 7)
            self.set_text_color(*MUTED)
            self.cell(text_w, 3.5, labels("qr_code"), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
            self.set_font(FAMILY, "B", 9)
            self.set_text_color(*INK)
            self.cell(text_w, 4.5, data.verification_code, align="R", new_x=XPos.LEFT)
            self.set_xy(x - 2 - text_w, self.get_y() + 5.5)
        if data.client_link:
            self.set_font(FAMILY, "", 7)
            self.set_text_color(*MUTED)
            self.multi_cell(text_w, 3.2, labels("qr_client"), align="R", new_x=XPos.LEFT)
        return y + QR_SIZE

    def footer(self) -> None:
        """Document number, verification code and "page n/N" under a thin rule."""
        data, labels = self.data, self.labels
        y = self.h - 13
        self.set_draw_color(*RULE)
        self.line(MARGIN, y, self.w - MARGIN, y)
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(*MUTED)
        width = (self.w - 2 * MARGIN) / 3
        self.set_xy(MARGIN, y + 1.5)
        self.cell(width, 4, f"{labels('title')} {data.intervention.number}", align="L")
        if data.verification_code:
            self.cell(width, 4, labels("verification", code=data.verification_code), align="C")
        self.set_x(self.w - MARGIN - width)
        page = labels("page", page=self.page_no(), pages=self.str_alias_nb_pages)
        self.cell(width, 4, page, align="R")


def draw_qr(pdf: FPDF, content: str, x: float, y: float, size: float) -> None:
    """Draw `content` as a QR code of `size` mm, in vector form (sharp at any zoom).

    segno computes the modules; each run of dark modules on a row is one rectangle.
    """
    qr = segno.make(content, error="m", micro=False)
    rows = [list(row) for row in qr.matrix]
    quiet = 2  # modules of white border inside `size`
    module = size / (len(rows) + 2 * quiet)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            pdf.rect(
                x + (quiet + start) * module,
                y + (quiet + r) * module,
                (c - start) * module,
                module,
                style="F",
            )


class _Body:
    """Writes the body of the report, section after section, into a `_ReportPDF`."""

    def __init__(self, pdf: _ReportPDF, data: ReportData, totals: Totals) -> None:
        self.pdf = pdf
        self.data = data
        self.totals = totals
        self.fmt = pdf.fmt
        self.labels = pdf.labels
        self.width = pdf.w - 2 * MARGIN

    def write(self, photos: Sequence[Future[bytes | None]]) -> None:
        """The whole document, in the order of issue 4."""
        self.pdf.add_page()
        self.identity()
        self.sections()
        self.parts()
        self.pricing()
        self.acceptance()
        if self.data.photos:
            self.photo_annex(photos)
        if self.data.attachments:
            self.attachments(self.data.attachments)
        if self.data.voice_notes:
            self.voice_notes(self.data.voice_notes)

    # -- building blocks ------------------------------------------------------------

    def body_font(self, style: str = "", size: float = BODY_SIZE, color: Color = INK) -> None:
        """Select the body font, and the default fill colour.

        `pdf.table()` starts from the current font, colours included: a fill colour
        left over from a drawing would paint every cell of the next table.
        """
        self.pdf.set_font(FAMILY, style, size)
        self.pdf.set_text_color(*color)
        self.pdf.set_fill_color(0)

    def ensure_space(self, height: float) -> None:
        """Start a new page unless `height` mm still fit on this one."""
        if self.pdf.will_page_break(height):
            self.pdf.add_page()

    def heading(self, text: str, keep_with: float = 14) -> None:
        """A section title, kept on the same page as the first `keep_with` mm after it."""
        pdf = self.pdf
        pdf.set_x(MARGIN)
        if pdf.get_y() > pdf.body_top + 0.5:
            pdf.ln(3)
        self.ensure_space(8 + keep_with)
        self.body_font("B", 11, ACCENT)
        pdf.cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_draw_color(*ACCENT)
        pdf.set_line_width(0.3)
        pdf.line(MARGIN, pdf.get_y(), MARGIN + self.width, pdf.get_y())
        pdf.set_line_width(0.2)
        pdf.ln(1.5)
        self.body_font()

    def subheading(self, text: str, keep_with: float = 2 * LINE) -> None:
        """A bold line introducing what follows, kept with its first `keep_with` mm."""
        self.pdf.ln(1)
        self.ensure_space(LINE + 0.6 + keep_with)
        self.body_font("B")
        self.pdf.cell(0, LINE + 0.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.body_font()

    def section(self, title: str, text: str) -> None:
        """A heading and its text, the heading never left alone at the foot of a page."""
        lines = self.wrap(text)
        self.heading(title, keep_with=self.keep_height(lines))
        self.write_lines(lines)

    def paragraph(self, text: str, style: str = "", color: Color = INK) -> None:
        """Free text, its own line breaks kept, flowing onto the next pages if long."""
        lines = self.wrap(text, style)
        self.ensure_space(self.keep_height(lines))
        self.write_lines(lines, style, color)

    def wrap(self, text: str, style: str = "") -> list[str]:
        """`text` broken into the lines it takes across the page, in the body font."""
        self.body_font(style)
        lines = self.pdf.multi_cell(0, LINE, text.strip(), align="L", dry_run=True, output="LINES")
        if not isinstance(lines, list):  # pragma: no cover - fpdf2 returns a list for LINES
            raise TypeError(f"unexpected multi_cell result: {lines!r}")
        return [str(line) for line in lines]

    @staticmethod
    def keep_height(lines: Sequence[str]) -> float:
        """What must stay together: a short text whole, else its first two lines."""
        return LINE * (len(lines) if len(lines) <= 4 else 2)

    def write_lines(self, lines: Sequence[str], style: str = "", color: Color = INK) -> None:
        """Print lines one under the other, breaking pages without leaving one line alone.

        A page never ends on a text's first line (the caller kept two together) nor
        starts with its last line alone: that line's predecessor goes with it.
        """
        pdf = self.pdf
        self.body_font(style, color=color)
        for index, line in enumerate(lines):
            left = len(lines) - index
            widow = left == 2 and index >= 2 and pdf.will_page_break(2 * LINE)
            if widow or pdf.will_page_break(LINE):
                pdf.add_page()
                self.body_font(style, color=color)
            pdf.cell(0, LINE, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.body_font()

    # -- client and intervention ------------------------------------------------------

    def identity(self) -> None:
        """Client on the left, intervention on the right: two tables of label/value pairs."""
        data, fmt, labels = self.data, self.fmt, self.labels
        client, job = data.client, data.intervention
        left = [
            (labels("client.name"), client.name),
            (labels("client.contact"), client.contact),
            (labels("client.address"), client.address),
            (labels("client.phone"), client.phone),
            (labels("client.email"), client.email),
        ]

        def moment(value: datetime | None) -> str:
            return fmt.datetime(value) if value is not None else ""

        right = [
            (labels("intervention.kind"), job.kind),
            (labels("intervention.template"), job.template),
            (labels("intervention.scheduled"), moment(job.scheduled_at)),
            (labels("intervention.started"), moment(job.started_at)),
            (labels("intervention.ended"), moment(job.ended_at)),
            (labels("intervention.worked"), fmt.duration(data.pricing.hours)),
            (labels("intervention.technician"), job.technician),
            (labels("intervention.site"), job.site_address),
        ]
        links: dict[str, str | None] = {}
        if job.location is not None:
            pin, label = job.location, labels("intervention.location")
            text = f"{pin.latitude:.5f}, {pin.longitude:.5f}"
            if pin.accuracy_m is not None:
                metres = fmt.number(Decimal(round(pin.accuracy_m)))
                text += f" ({labels('intervention.accuracy', metres=metres)})"
            right.append((label, text))
            links[label] = (
                "https://www.openstreetmap.org/"
                f"?mlat={pin.latitude:.6f}&mlon={pin.longitude:.6f}"
                f"#map=18/{pin.latitude:.6f}/{pin.longitude:.6f}"
            )
        pdf = self.pdf
        top = pdf.get_y()
        half = (self.width - GRID_GAP) / 2
        self.key_values(labels("client.heading"), left, (18, half - 18), "LEFT")
        left_bottom = pdf.get_y()
        pdf.set_y(top)
        self.key_values(labels("intervention.heading"), right, (24, half - 24), "RIGHT", links)
        pdf.set_xy(MARGIN, max(left_bottom, pdf.get_y()) + 1)

    def key_values(
        self,
        title: str,
        pairs: Sequence[tuple[str, str]],
        widths: tuple[float, float],
        align: str,
        links: dict[str, str | None] | None = None,
    ) -> None:
        """A two-column table under a title: muted labels, values; empty values left out.

        `links` gives the value of some labels a link (the location pin opens a map).

        A value with no space to break at (an e-mail address) is set smaller until it
        fits its column rather than being cut in the middle.
        """
        pdf = self.pdf
        label_style = FontFace(size_pt=8, color=MUTED)
        padding = 1.2
        self.body_font()
        with pdf.table(
            col_widths=widths,
            width=sum(widths),
            align=align,
            borders_layout="NONE",
            headings_style=FontFace(emphasis="BOLD", size_pt=10, color=ACCENT, fill_color=SHADE),
            line_height=LINE,
            padding=(0.6, padding),
            text_align="LEFT",
            v_align="TOP",
        ) as table:
            table.row().cell(title, colspan=2)
            for label, value in pairs:
                if not value:
                    continue
                size = self.fitting_size(value, widths[1] - 2 * padding, BODY_SIZE)
                row = table.row()
                row.cell(label, style=label_style)
                link = (links or {}).get(label)
                row.cell(value, style=FontFace(size_pt=size, color=INK), link=link)

    def fitting_size(self, text: str, width: float, size: float, smallest: float = 6.5) -> float:
        """`size`, or less for a text without spaces that would not fit in `width` mm."""
        if any(character.isspace() for character in text.strip()):
            return size
        self.pdf.set_font_size(size)
        needed = self.pdf.get_string_width(text)
        self.pdf.set_font_size(BODY_SIZE)
        if needed <= width:
            return size
        return max(smallest, int(size * width / needed * 10) / 10)

    # -- free-text sections --------------------------------------------------------------

    def sections(self) -> None:
        """Context, objective, methods and checklist, work done, results, remarks."""
        sections, labels = self.data.sections, self.labels
        for key, text in (("context", sections.context), ("objective", sections.objective)):
            if text.strip():
                self.section(labels(f"sections.{key}"), text)
        if sections.methods.strip() or sections.checklist:
            if sections.methods.strip():
                self.section(labels("sections.methods"), sections.methods)
            else:
                self.heading(labels("sections.methods"))
            if sections.checklist:
                self.checklist()
        if sections.work_done.strip():
            self.section(labels("sections.work_done"), sections.work_done)
        if sections.outcome is not None or sections.outcome_comment.strip():
            self.results()
        if sections.remarks.strip():
            self.section(labels("sections.remarks"), sections.remarks)

    def checklist(self) -> None:
        """One row per item: a ticked ☑ or empty ☐ box, the item, its note."""
        pdf, labels = self.pdf, self.labels
        if self.data.sections.methods.strip():
            self.subheading(labels("sections.checklist"))
        ticked = FontFace(size_pt=12, color=GREEN, emphasis="BOLD")
        unticked = FontFace(size_pt=12, color=RED)
        note_style = FontFace(size_pt=8.5, color=MUTED)
        pdf.set_draw_color(*RULE)
        self.body_font()
        with pdf.table(
            col_widths=(8, 100, 72),
            width=self.width,
            first_row_as_headings=False,
            borders_layout="HORIZONTAL_LINES",
            line_height=LINE,
            padding=(0.8, 1.0),
            text_align=("CENTER", "LEFT", "LEFT"),
            v_align="MIDDLE",
        ) as table:
            for item in self.data.sections.checklist:
                row = table.row()
                row.cell("☑" if item.checked else "☐", style=ticked if item.checked else unticked)
                row.cell(item.label)
                row.cell(item.note, style=note_style)

    def results(self) -> None:
        sections, labels = self.data.sections, self.labels
        comment = self.wrap(sections.outcome_comment) if sections.outcome_comment.strip() else []
        self.heading(labels("sections.results"), keep_with=LINE + 0.6 + self.keep_height(comment))
        if sections.outcome is not None:
            answer = labels(f"sections.{sections.outcome.value}")
            self.body_font("B", color=_OUTCOME_COLORS[sections.outcome])
            self.pdf.cell(
                0,
                LINE + 0.6,
                labels("sections.outcome", outcome=answer),
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            self.body_font()
        self.write_lines(comment)

    # -- money --------------------------------------------------------------------------

    def money(self, amount: Decimal) -> str:
        return self.fmt.money(amount, self.data.pricing.currency)

    def parts(self) -> None:
        """The parts table; its heading row is repeated on every page it spans."""
        if not self.data.parts:
            return
        pdf, labels, fmt = self.pdf, self.labels, self.fmt
        self.heading(labels("parts.heading"), keep_with=16)
        pdf.set_draw_color(*RULE)
        self.body_font(size=9)
        with pdf.table(
            col_widths=(31, 81, 14, 27, 27),
            width=self.width,
            borders_layout="HORIZONTAL_LINES",
            headings_style=FontFace(emphasis="BOLD", color=ACCENT, fill_color=SHADE),
            line_height=4.4,
            padding=(0.8, 1.2),
            text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
            v_align="TOP",
            repeat_headings=1,
        ) as table:
            head = table.row()
            for key in ("reference", "designation", "quantity", "unit_price", "total"):
                head.cell(labels(f"parts.{key}"))
            for part, total in zip(self.data.parts, self.totals.part_lines, strict=True):
                row = table.row()
                row.cell(part.reference)
                row.cell(part.designation)
                row.cell(fmt.number(part.quantity))
                row.cell(self.money(part.unit_price))
                row.cell(self.money(total))
        self.body_font()

    def pricing(self) -> None:
        """Labour, travel, parts, totals and VAT, then the payment terms."""
        pdf, labels, fmt, totals = self.pdf, self.labels, self.fmt, self.totals
        pricing = self.data.pricing
        lines: list[tuple[str, str, bool]] = [
            (
                labels(
                    "pricing.labour",
                    hours=fmt.labour_hours(pricing.hours),
                    rate=self.money(pricing.labour_rate),
                ),
                self.money(totals.labour),
                False,
            )
        ]
        if isinstance(pricing.travel, FlatTravel):
            lines.append((labels("pricing.travel_flat"), self.money(totals.travel), False))
        elif isinstance(pricing.travel, DistanceTravel):
            travel = labels(
                "pricing.travel_distance",
                km=fmt.number(pricing.travel.distance_km),
                rate=self.money(pricing.travel.rate_per_km),
            )
            lines.append((travel, self.money(totals.travel), False))
        if self.data.parts:
            lines.append((labels("pricing.parts"), self.money(totals.parts), False))
        lines.append((labels("pricing.excl_vat"), self.money(totals.excl_vat), True))
        for vat in totals.vat:
            text = labels("pricing.vat", rate=fmt.percent(vat.rate), base=self.money(vat.base))
            lines.append((text, self.money(vat.amount), False))
        lines.append((labels("pricing.incl_vat"), self.money(totals.incl_vat), True))

        self.heading(labels("pricing.heading"), keep_with=len(lines) * 6.5)
        pdf.set_draw_color(*RULE)
        self.body_font()
        bold = FontFace(emphasis="BOLD")
        grand = FontFace(emphasis="BOLD", size_pt=10.5, color=ACCENT, fill_color=SHADE)
        with pdf.table(
            col_widths=(82, 33),
            width=115,
            align="RIGHT",
            first_row_as_headings=False,
            borders_layout="HORIZONTAL_LINES",
            line_height=LINE,
            padding=(1.0, 1.5),
            text_align=("LEFT", "RIGHT"),
        ) as table:
            for index, (text, amount, strong) in enumerate(lines):
                last = index == len(lines) - 1
                style = grand if last else bold if strong else None
                row = table.row(style=style)
                row.cell(text)
                row.cell(amount)
        if pricing.payment_terms.strip():
            pdf.ln(2)
            terms = self.wrap(pricing.payment_terms)
            self.subheading(labels("pricing.payment_terms"), self.keep_height(terms))
            self.write_lines(terms)

    # -- acceptance ---------------------------------------------------------------------

    def acceptance(self) -> None:
        """What the client accepted, then the client's and the technician's signatures."""
        pdf, labels = self.pdf, self.labels
        acceptance = self.data.acceptance
        self.heading(labels("acceptance.heading"), keep_with=SIGNATURE_BOX_HEIGHT + 8)
        if acceptance is None:
            self.paragraph(labels("acceptance.not_signed"), style="B", color=RED)
        elif acceptance.with_reservations:
            self.paragraph(labels("acceptance.with_reservations"), style="B", color=AMBER)
            if acceptance.reservations.strip():
                self.body_font()
                pdf.set_fill_color(*SHADE)
                pdf.multi_cell(
                    0,
                    LINE,
                    acceptance.reservations.strip(),
                    align="L",
                    fill=True,
                    padding=Padding(top=1.5, right=2.5, bottom=1.5, left=2.5),
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
                self.body_font()
        else:
            self.paragraph(labels("acceptance.without_reservations"), style="B", color=GREEN)
        pdf.ln(2)
        self.ensure_space(SIGNATURE_BOX_HEIGHT + 2)
        box_w = (self.width - GRID_GAP) / 2
        y = pdf.get_y()
        signed = self.signed(acceptance.signed_on, acceptance.signed_at) if acceptance else ""
        self.signature_box(
            MARGIN,
            y,
            box_w,
            labels("acceptance.client"),
            acceptance.signer_name if acceptance else self.data.client.contact,
            signed,
            acceptance.signature if acceptance else None,
        )
        self.signature_box(
            MARGIN + box_w + GRID_GAP,
            y,
            box_w,
            labels("acceptance.technician"),
            self.data.intervention.technician,
            self.signed(self.data.technician_signed_on, self.data.technician_signed_at),
            self.data.technician_signature,
        )
        pdf.set_xy(MARGIN, y + SIGNATURE_BOX_HEIGHT + 2)

    def signed(self, on: SignedOn | None, moment: datetime | None) -> str:
        """How and when a signature was given: "Signée sur l'écran le 22/11/2026 à
        14:30", "Photo d'une signature sur papier, le …" ("" when the time is unknown)."""
        if moment is None:
            return ""
        labels, fmt = self.labels, self.fmt
        if on is None:
            return labels("acceptance.signed_at", moment=fmt.datetime(moment))
        key = "acceptance.on_screen" if on == "screen" else "acceptance.on_paper"
        return labels(key, date=fmt.date(moment), time=fmt.time(moment))

    def signature_box(
        self,
        x: float,
        y: float,
        width: float,
        title: str,
        name: str,
        signed: str,
        signature: bytes | None,
    ) -> None:
        pdf, labels = self.pdf, self.labels
        pdf.set_draw_color(*RULE)
        pdf.rect(x, y, width, SIGNATURE_BOX_HEIGHT)
        pdf.set_xy(x + 2, y + 1.5)
        self.body_font("B", 8.5, MUTED)
        pdf.cell(width - 4, 4, title, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.body_font("B", BODY_SIZE)
        pdf.cell(width - 4, 5, name, new_x=XPos.LEFT, new_y=YPos.NEXT)
        if signed:
            self.body_font("", 8, MUTED)
            pdf.cell(width - 4, 4, signed, new_x=XPos.LEFT, new_y=YPos.NEXT)
        area_top = y + 15.5
        area_h = SIGNATURE_BOX_HEIGHT - 17.5
        picture = clean_picture(signature, _SIGNATURE_PIXELS, f"signature ({title})")
        if picture is not None:
            pdf.image(picture, x=x + 2, y=area_top, w=width - 4, h=area_h, keep_aspect_ratio=True)
        else:
            self.body_font("", 8, MUTED)
            pdf.set_xy(x + 2, area_top + area_h / 2 - 2)
            pdf.cell(width - 4, 4, labels("acceptance.no_signature"), align="C")
        self.body_font()

    # -- annex ----------------------------------------------------------------------------

    def photo_annex(self, photos: Sequence[Future[bytes | None]]) -> None:
        """The photos in a grid of two columns: tag on the picture, number, time, caption."""
        pdf, labels = self.pdf, self.labels
        pdf.add_page()
        self.heading(labels("annex.photos"), keep_with=PHOTO_BOX_HEIGHT + CAPTION_HEIGHT)
        cell_w = (self.width - GRID_GAP * (GRID_COLUMNS - 1)) / GRID_COLUMNS
        row_h = PHOTO_BOX_HEIGHT + CAPTION_HEIGHT + 3
        y = pdf.get_y()
        for index, (photo, prepared) in enumerate(zip(self.data.photos, photos, strict=True)):
            column = index % GRID_COLUMNS
            if column == 0:
                if index:
                    y += row_h
                if y + row_h > pdf.page_break_trigger:
                    pdf.add_page()
                    y = pdf.get_y()
            x = MARGIN + column * (cell_w + GRID_GAP)
            self.photo_cell(index + 1, photo, prepared.result(), x, y, cell_w)
        pdf.set_xy(MARGIN, y + row_h)

    def photo_cell(
        self, number: int, photo: Photo, prepared: bytes | None, x: float, y: float, width: float
    ) -> None:
        pdf, labels, fmt = self.pdf, self.labels, self.fmt
        pdf.set_draw_color(*RULE)
        pdf.set_fill_color(*SHADE)
        pdf.rect(x, y, width, PHOTO_BOX_HEIGHT, style="DF")
        if prepared is None:
            self.body_font("", 9, MUTED)
            pdf.set_xy(x, y + PHOTO_BOX_HEIGHT / 2 - 2)
            pdf.cell(width, 4, labels("annex.unreadable"), align="C")
        else:
            info = pdf.image(
                prepared, x=x, y=y, w=width, h=PHOTO_BOX_HEIGHT, keep_aspect_ratio=True
            )
            if photo.tag is not None:
                shown_w = info.rendered_width
                shown_h = info.rendered_height
                self.tag_badge(
                    photo.tag,
                    x + (width - shown_w) / 2 + 1.5,
                    y + (PHOTO_BOX_HEIGHT - shown_h) / 2 + 1.5,
                )
        title = labels("annex.photo", index=number)
        if photo.received_at is not None:
            title += f" · {fmt.datetime(photo.received_at)}"
        pdf.set_xy(x, y + PHOTO_BOX_HEIGHT + 1)
        self.body_font("B", 7.5, MUTED)
        pdf.cell(width, 3.6, title, new_x=XPos.LEFT, new_y=YPos.NEXT)
        if photo.caption.strip():
            self.body_font("", 8)
            for line in self.lines(photo.caption.strip(), width, most=2):
                pdf.cell(width, 3.6, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.body_font()

    def lines(self, text: str, width: float, most: int) -> list[str]:
        """`text` broken into lines of `width` mm, at most `most`, the last cut with "…"."""
        lines = self.pdf.multi_cell(width, LINE, text, dry_run=True, output="LINES", align="L")
        if not isinstance(lines, list):  # pragma: no cover - fpdf2 returns a list for LINES
            raise TypeError(f"unexpected multi_cell result: {lines!r}")
        if len(lines) <= most:
            return lines
        kept = lines[: most - 1]
        last = lines[most - 1].rstrip()
        while last and self.pdf.get_string_width(last + "…") > width - 2:
            last = last[:-1]
        return [*kept, last.rstrip() + "…"]

    def tag_badge(self, tag: PhotoTag, x: float, y: float) -> None:
        """BEFORE / AFTER in white on a coloured label over the picture's corner."""
        pdf = self.pdf
        text = self.labels(f"annex.{tag.value}")
        self.body_font("B", 7.5, (255, 255, 255))
        width = pdf.get_string_width(text) + 3
        pdf.set_fill_color(*_TAG_COLORS[tag])
        pdf.rect(x, y, width, 4.6, style="F")
        pdf.set_xy(x, y + 0.3)
        pdf.cell(width, 4, text, align="C")
        self.body_font()

    def attachments(self, files: Sequence[Attachment]) -> None:
        """The other files of the intervention: name, type and size."""
        fmt = self.fmt
        self.annex_table(
            "annex.attachments",
            (("file_name", 100, "LEFT"), ("file_type", 50, "LEFT"), ("file_size", 30, "RIGHT")),
            [(a.name, a.mime_type, fmt.size(a.size)) for a in files],
        )

    def voice_notes(self, notes: Sequence[VoiceNote]) -> None:
        """The voice notes: the section each was sent in, its length and when it came;
        then a line saying the report prints the typed text."""
        pdf, labels, fmt = self.pdf, self.labels, self.fmt
        self.annex_table(
            "annex.voice_notes",
            (
                ("voice_section", 100, "LEFT"),
                ("voice_length", 30, "RIGHT"),
                ("voice_received", 50, "LEFT"),
            ),
            [
                (
                    labels(f"sections.{note.section}"),
                    fmt.recording(note.duration),
                    fmt.datetime(note.received_at) if note.received_at else "—",
                )
                for note in notes
            ],
        )
        pdf.ln(1)
        self.body_font("", 8, MUTED)
        pdf.multi_cell(self.width, 3.8, labels("annex.voice_hint"))
        self.body_font()

    def annex_table(
        self,
        heading: str,
        columns: Sequence[tuple[str, float, str]],
        rows: Sequence[Sequence[str]],
    ) -> None:
        """A list of the annex under its `heading` (a label key): `columns` are each
        column's heading (a key under "annex."), width and alignment."""
        pdf, labels = self.pdf, self.labels
        self.heading(labels(heading))
        pdf.set_draw_color(*RULE)
        self.body_font(size=9)
        with pdf.table(
            col_widths=tuple(width for _, width, _ in columns),
            width=self.width,
            borders_layout="HORIZONTAL_LINES",
            headings_style=FontFace(emphasis="BOLD", color=ACCENT, fill_color=SHADE),
            line_height=4.4,
            padding=(0.8, 1.2),
            text_align=tuple(align for _, _, align in columns),
            repeat_headings=1,
        ) as table:
            head = table.row()
            for key, _, _ in columns:
                head.cell(labels(f"annex.{key}"))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(value)
        self.body_font()
