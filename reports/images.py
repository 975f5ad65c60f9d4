"""Photos and signatures as they go into a report.

Technicians send photos from the field (compressed by Telegram, or as files: JPEG, PNG,
WebP, iPhone HEIC) and a photo of the client's signature. Photos are legal proof, so
everything that arrives is checked here before it is trusted, and every photo that
leaves (in a PDF, or to a client) is upright, reasonably small, in sRGB, and carries no
metadata at all: no EXIF, no GPS position, no XMP, no colour profile, no comment.

- `inspect_image` says whether some bytes are a whole, decodable image of a sane size.
- `prepare_photo` turns a photo into the JPEG that a report embeds.
- `prepare_signature` turns a photo of a handwritten signature into a transparent PNG.
- `prepare_drawn_signature` checks a signature drawn on the screen (a PNG) and crops it
  the same way.
- `PreparedCache` keeps prepared photos on disk, so a report is re-rendered quickly.

These are pure functions on bytes (no Telegram, no database). They are CPU-bound and
meant to be called in a worker thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import struct
import tempfile
import threading
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from PIL import Image, ImageChops, ImageFile, ImageFilter, ImageMath, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_PIXELS: Final = 64_000_000
"""Anything larger is refused (decompression bombs). A 48 MP phone photo passes."""

# Why an image was refused. Handlers turn these into a message for the technician.
CORRUPT: Final = "corrupt"
TOO_MANY_PIXELS: Final = "too_many_pixels"
NOT_AN_IMAGE: Final = "not_an_image"
NOT_A_SIGNATURE: Final = "not_a_signature"
REASONS: Final = frozenset({CORRUPT, TOO_MANY_PIXELS, NOT_AN_IMAGE, NOT_A_SIGNATURE})

# The formats accepted from a technician, whatever the file name or declared type says.
# Other Pillow formats (EPS, PSD, TGA, ICO, ...) are refused: exotic decoders are attack
# surface, and TGA has no signature, so random bytes could pass for one.
_ACCEPTED_FORMATS: Final = ("JPEG", "MPO", "PNG", "WEBP", "HEIF", "AVIF", "GIF", "TIFF", "BMP")

# Leading bytes of the accepted formats: bytes that start like an image but cannot be
# opened are a damaged image ("corrupt"), anything else is "not_an_image".
_SIGNATURES: Final = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
_TIFF_SIGNATURES: Final = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_HEIF_BRANDS: Final = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
_AVIF_BRANDS: Final = (b"avif", b"avis")

# What a damaged file makes Pillow's decoders raise while opening or decoding.
_DECODE_ERRORS: Final = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    zlib.error,
)

_ORIENTATION_TAG: Final = 0x0112
# EXIF orientation -> the transform that makes the stored pixels upright.
_UPRIGHT: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Bicubic, as Pillow's own thumbnails: as sharp as Lanczos to the eye at report size,
# and about 15 ms cheaper per 12 MP photo. Hamming would save 15 ms more, a bit softer.
_RESAMPLE: Final = Image.Resampling.BICUBIC
_DEEP_MODES: Final = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
_ALPHA_MODES: Final = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})

# Signatures: the photo is examined at this size (long side), the paper brightness is
# estimated on a thumbnail of this size, and a pixel is ink only if it is clearly
# darker than the paper around it (darkness 0 = paper, 255 = black on white paper).
_SIGNATURE_WORK_SIDE: Final = 2000
_BACKGROUND_SIDE: Final = 100
_MIN_INK_DARKNESS: Final = 24
_MIN_INK_CONTRAST: Final = 60
_MIN_INK_PIXELS: Final = 40
_MIN_INK_FRACTION: Final = 0.0002

_READY_LOCK = threading.Lock()
_ready_formats: tuple[str, ...] | None = None
_heif_registered = False
# Serialises the short header parsing in `Image.open`: `warnings.catch_warnings` swaps
# the process-wide warning filters and is not thread-safe on Python 3.11.
_OPEN_LOCK = threading.Lock()


PHOTO_QUALITY = 80
"""JPEG quality of the prepared photos."""


class ImageRejected(Exception):
    """Some bytes a person sent are not an image we can put in a report.

    `reason` is one of `REASONS`: "corrupt" (damaged or cut short), "too_many_pixels"
    (larger than `MAX_PIXELS`, e.g. a decompression bomb), "not_an_image" (a PDF, a text
    file, random bytes, an unsupported format) or "not_a_signature" (no ink found).
    `detail` says what was found, for the logs (not for the user).
    """

    reason: str
    detail: str

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


@dataclass(frozen=True)
class ImageInfo:
    """What an accepted image is: its format, its size as displayed, its MIME type."""

    format: str
    width: int
    height: int
    mime_type: str


def register_heif() -> None:
    """Teach Pillow to open iPhone HEIC/HEIF photos (safe to call any number of times)."""
    global _heif_registered
    with _READY_LOCK:
        if _heif_registered:
            return
        from pillow_heif import register_heif_opener

        # Embedded thumbnails are never used: a report shows the real photo.
        register_heif_opener(thumbnails=False)
        _heif_registered = True


def inspect_image(data: bytes) -> ImageInfo:
    """Check that `data` is a whole, decodable image of a sane size; say what it is.

    The file name and declared type are not trusted: the bytes are opened, the declared
    size is checked before any pixel is decoded, then the whole first frame is decoded
    (a cut-short JPEG is "corrupt"). Raises `ImageRejected`.
    """
    im = _open(data)
    width, height = im.size
    if im.format in ("JPEG", "MPO"):
        # Decoding at 1/8 scale still reads every byte of the compressed data, so a
        # truncated file is still caught, at a fraction of the cost.
        im.draft(None, (max(1, width // 8), max(1, height // 8)))
    _load(im)
    if _orientation(im) >= 5:
        width, height = height, width
    if im.format == "MPO":
        # Phone cameras write multi-picture JPEGs; their first picture is a plain JPEG.
        return ImageInfo(format="JPEG", width=width, height=height, mime_type="image/jpeg")
    fmt = im.format or "UNKNOWN"
    mime = im.get_format_mimetype() or Image.MIME.get(fmt, "application/octet-stream")
    return ImageInfo(format=fmt, width=width, height=height, mime_type=mime)


def prepare_photo(data: bytes, max_side: int = 1600, quality: int = 80) -> bytes:
    """The photo as it goes into a report or to a client, as JPEG bytes.

    Upright (EXIF orientation applied), at most `max_side` pixels on its long side
    (never enlarged), in sRGB with transparency flattened on white, saved as a
    progressive optimized JPEG at `quality` without any metadata: no EXIF, GPS, XMP,
    comment or ICC profile. Colours described by an embedded profile (an iPhone's
    Display P3, a print shop's CMYK) are converted to sRGB first, so dropping the
    profile does not change how the photo looks. Raises `ImageRejected`.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be positive, not {max_side}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be between 1 and 100, not {quality}")
    as_is = _clean_jpeg_as_is(data, max_side)
    if as_is is not None:
        return as_is
    photo = _decode_upright_rgb(data, max_side)
    return _encode(photo, "JPEG", quality=quality, optimize=True, progressive=True)


#: JPEG segments a stripped photo keeps: the frame, tables and scan, the JFIF header and
#: Adobe's colour-transform flag. Everything else (EXIF with GPS, XMP, ICC, comments,
#: maker notes) is dropped.
_KEPT_SEGMENTS = frozenset({0xC0, 0xC1, 0xC2, 0xC4, 0xDB, 0xDD, 0xE0, 0xEE})


def _clean_jpeg_as_is(data: bytes, max_side: int) -> bytes | None:
    """A photo that needs no re-encoding, with its metadata segments cut out; None when
    it needs the full treatment.

    A photo Telegram has already compressed is a baseline sRGB JPEG of at most 1280 px
    with no orientation to apply: decoding and re-encoding it would cost time and a
    generation of quality for nothing. It is still decoded once (at 1/8 scale) so a
    damaged file is refused as usual.
    """
    if not data.startswith(b"\xff\xd8"):
        return None
    im = _open(data)
    if im.format != "JPEG" or im.mode not in ("RGB", "L") or max(im.size) > max_side:
        return None
    if im.info.get("icc_profile") or _orientation(im) != 1:
        return None
    im.draft(None, (max(1, im.size[0] // 8), max(1, im.size[1] // 8)))
    _load(im)
    return _strip_jpeg(data)


def _strip_jpeg(data: bytes) -> bytes | None:
    """The JPEG without its metadata segments (lossless), or None if its structure is
    not the plain one expected."""
    out = bytearray(b"\xff\xd8")
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xDA:  # start of scan: the compressed image and the end follow
            out += data[at:]
            return bytes(out)
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if length < 2 or at + 2 + length > len(data):
            return None
        if marker in _KEPT_SEGMENTS:
            out += data[at : at + 2 + length]
        elif not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            return None  # a segment this path does not know: take the full treatment
        at += 2 + length
    return None


def prepare_signature(data: bytes, max_side: int = 800) -> bytes:
    """A photo of a handwritten signature, cleaned into a transparent PNG (RGBA bytes).

    The paper (or screen) disappears and the ink stays as black ink whose opacity
    follows its darkness, so strokes stay smooth. The paper's brightness is estimated
    locally first, so a shadow across the page or uneven light does not turn into ink;
    the ink threshold is then chosen from the image itself (Otsu's method). The result
    is cropped to the ink with a small margin and is at most `max_side` on its long
    side. A photo with no ink (a blank page, a uniform image) raises
    `ImageRejected("not_a_signature")`; other bad input raises `ImageRejected` as
    `inspect_image` does.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be positive, not {max_side}")
    gray = _decode_upright_rgb(data, _SIGNATURE_WORK_SIDE).convert("L")
    # A slight blur first: sensor and JPEG noise is pixel-sized, pen strokes are not, and
    # dividing by the paper's brightness amplifies the noise in a shadow.
    darkness = _darkness_against_paper(gray.filter(ImageFilter.GaussianBlur(1)))
    histogram = darkness.histogram()
    threshold = max(_otsu_threshold(histogram), _MIN_INK_DARKNESS)
    ink_pixels = sum(histogram[threshold + 1 :])
    if ink_pixels == 0:
        raise ImageRejected(NOT_A_SIGNATURE, "no ink darker than the paper")
    ink_mean = sum(i * n for i, n in enumerate(histogram) if i > threshold) / ink_pixels
    if ink_mean < _MIN_INK_CONTRAST:
        raise ImageRejected(NOT_A_SIGNATURE, "nothing clearly darker than the paper")

    # Isolated dark specks (dust, paper grain, sensor noise) are not ink: an ink pixel is
    # kept only with at least 5 ink pixels in its 5x5 neighbourhood, which even a
    # one-pixel pen line crossing it has, and a speck does not.
    dark = darkness.point(lambda v: 255 if v > threshold else 0)
    crowded = dark.filter(ImageFilter.BoxBlur(2)).point(lambda v: 255 if v >= 48 else 0)
    ink = ImageChops.multiply(dark, crowded)
    ink_count = ink.histogram()[255]
    if ink_count < max(_MIN_INK_PIXELS, _MIN_INK_FRACTION * gray.width * gray.height):
        raise ImageRejected(NOT_A_SIGNATURE, "too little ink")
    box = ink.getbbox()
    if box is None:  # not reachable with ink_count > 0, kept for the type checker
        raise ImageRejected(NOT_A_SIGNATURE, "too little ink")

    # Opacity: transparent up to half the threshold, opaque from well inside the
    # typical ink darkness, a smooth ramp in between (antialiased stroke edges). Only
    # pixels near a kept stroke may be opaque at all: the rest of the page stays clear.
    low = threshold // 2
    full = max(low + 1, round(threshold + 0.75 * (ink_mean - threshold)))
    ramp = [0 if v <= low else min(255, round(255 * (v - low) / (full - low))) for v in range(256)]
    near_ink = ink.filter(ImageFilter.MaxFilter(5))
    alpha = ImageChops.multiply(darkness.point(ramp), near_ink)

    return _ink_png(alpha, box, max_side)


def _ink_png(alpha: Image.Image, box: tuple[int, int, int, int], max_side: int) -> bytes:
    """Black ink of opacity `alpha`, cropped to the ink's `box` with a small margin, at
    most `max_side` on its long side, as a PNG without metadata."""
    left, top, right, bottom = box
    margin = max(4, round(0.04 * max(right - left, bottom - top)))
    alpha = alpha.crop(
        (
            max(0, left - margin),
            max(0, top - margin),
            min(alpha.width, right + margin),
            min(alpha.height, bottom + margin),
        )
    )
    size = _fit(alpha.size, max_side)
    if size != alpha.size:
        alpha = alpha.resize(size, Image.Resampling.LANCZOS)
    signature = Image.new("RGBA", alpha.size, (0, 0, 0, 0))
    signature.putalpha(alpha)
    return _encode(signature, "PNG", optimize=True)


#: The white around a signature shown back, as a share of its long side.
_PREVIEW_MARGIN = 0.08


def signature_preview(cleaned: bytes) -> bytes:
    """A cleaned signature (`prepare_signature`'s transparent PNG) on white paper, with a
    margin, as an opaque PNG: how the report prints it, and what a chat shows as a
    picture (a picture with transparency may be shown on a dark background there)."""
    with Image.open(io.BytesIO(cleaned)) as opened:
        signature = opened.convert("RGBA")
    margin = max(8, round(_PREVIEW_MARGIN * max(signature.size)))
    paper = Image.new(
        "RGBA",
        (signature.width + 2 * margin, signature.height + 2 * margin),
        (255, 255, 255, 255),
    )
    paper.alpha_composite(signature, (margin, margin))
    return _encode(paper.convert("RGB"), "PNG", optimize=True)


#: A drawn signature's ink: a pixel at least this opaque (or, on an opaque drawing,
#: this dark) counts.
_DRAWN_INK_LEVEL: Final = 64


def prepare_drawn_signature(data: bytes, max_size: tuple[int, int], max_side: int = 800) -> bytes:
    """A signature drawn on the screen (a PNG, ink on a transparent background, as the
    signature pad exports it), checked and made like a cleaned photo of one: black
    ink whose opacity is the drawing's, cropped to the ink with a small margin, at most
    `max_side` on its long side, no metadata.

    Anything but a whole PNG is refused as `inspect_image` does; one wider or taller
    than `max_size` raises `ImageRejected("too_many_pixels")`, one without ink (or a
    dot) `ImageRejected("not_a_signature")`. An opaque drawing (no transparency) is read
    as dark ink on a light background.
    """
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ImageRejected(NOT_AN_IMAGE, "a drawn signature is a PNG")
    im = _open(data)
    width, height = im.size
    if width > max_size[0] or height > max_size[1]:
        raise ImageRejected(
            TOO_MANY_PIXELS, f"{width}x{height} is larger than {max_size[0]}x{max_size[1]}"
        )
    _load(im)
    rgba = im.convert("RGBA")
    alpha = rgba.getchannel("A")
    low, _high = alpha.getextrema()
    if low == 255:  # nothing transparent: the ink is what is dark
        alpha = ImageChops.invert(rgba.convert("L"))
    ink = alpha.point(lambda v: 255 if v >= _DRAWN_INK_LEVEL else 0)
    box = ink.getbbox()
    if box is None or ink.histogram()[255] < _MIN_INK_PIXELS:
        raise ImageRejected(NOT_A_SIGNATURE, "too little ink")
    return _ink_png(alpha, box, max_side)


class PreparedCache:
    """Prepared photos kept on disk, so a report is re-rendered without re-preparing.

    `key` is a stable id of the original photo (e.g. the SHA-256 of its bytes). The file
    name is a hash of the key and the preparation settings, never the key itself, so
    nothing a user sends becomes a path. Each file carries a checksum of its content:
    a damaged or partly written file is ignored and prepared again. Files are written
    to a temporary name and renamed into place, so a reader never sees half a file.
    """

    _MAGIC: Final = b"terrain-prepared-photo-v1\n"
    _DIGEST_SIZE: Final = 32

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def get(
        self,
        key: str,
        data: bytes | Callable[[], bytes],
        max_side: int = 1600,
        quality: int = 80,
    ) -> bytes:
        """The prepared JPEG for the original `key`, prepared (and stored) if needed.

        `data` is the original's bytes, or a function that loads them: it is called
        only when the prepared photo is not already on disk. Raises `ImageRejected`
        when the original is not a usable image. A cache that cannot be written is
        logged and the prepared photo returned all the same.
        """
        path = self.path_for(key, max_side, quality)
        cached = self._read(path)
        if cached is not None:
            return cached
        original = data if isinstance(data, bytes) else data()
        prepared = prepare_photo(original, max_side=max_side, quality=quality)
        self._write(path, prepared)
        return prepared

    def path_for(self, key: str, max_side: int, quality: int) -> Path:
        """Where the prepared photo for these settings lives (a generated name)."""
        # The version changes whenever prepare_photo's output would change.
        material = f"photo-v1\0{key}\0{max_side}\0{quality}".encode()
        return self.folder / f"{hashlib.sha256(material).hexdigest()}.prepared"

    def _read(self, path: Path) -> bytes | None:
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("Cannot read prepared photo %s, preparing it again: %s", path.name, exc)
            return None
        head = len(self._MAGIC) + self._DIGEST_SIZE
        payload = blob[head:]
        if (
            blob.startswith(self._MAGIC)
            and payload
            and hashlib.sha256(payload).digest() == blob[len(self._MAGIC) : head]
        ):
            return payload
        log.warning("Prepared photo %s is damaged, preparing it again", path.name)
        return None

    def _write(self, path: Path, payload: bytes) -> None:
        blob = self._MAGIC + hashlib.sha256(payload).digest() + payload
        tmp_name: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(blob)
            os.replace(tmp_name, path)
            tmp_name = None
        except OSError as exc:
            log.warning("Cannot store prepared photo %s: %s", path.name, exc)
        finally:
            if tmp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)


# --- decoding -------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    """`image` saved as `fmt`, letting other threads run meanwhile.

    Pillow holds the GIL while it encodes into a `BytesIO` (a progressive JPEG is one
    long call: about 25 ms for a 1600 px photo), but releases it while it writes to a
    real file. An unnamed temporary file costs nothing measurable and lets the photos
    of a report, and the PDF layout, share both cores.
    """
    with tempfile.TemporaryFile() as out:
        image.save(out, format=fmt, **params)
        out.seek(0)
        return out.read()


def _accepted_formats() -> tuple[str, ...]:
    """The accepted formats this Pillow can open (plugins loaded once, on first use)."""
    global _ready_formats
    register_heif()
    with _READY_LOCK:
        if _ready_formats is None:
            Image.init()
            _ready_formats = tuple(f for f in _ACCEPTED_FORMATS if f in Image.OPEN)
        return _ready_formats


def _open(data: bytes) -> ImageFile.ImageFile:
    """Identify `data` and check its declared size, without decoding any pixel."""
    formats = _accepted_formats()
    try:
        # Pillow warns (and over twice its limit, raises) about decompression bombs;
        # the warning becomes an error here so that it is refused, never printed.
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(TOO_MANY_PIXELS, str(exc)) from None
    except UnidentifiedImageError:
        if _looks_like_image(data):
            raise ImageRejected(
                CORRUPT, "the file starts like an image but cannot be read"
            ) from None
        raise ImageRejected(
            NOT_AN_IMAGE, "not a JPEG, PNG, WebP, HEIC, GIF or TIFF image"
        ) from None
    except _DECODE_ERRORS as exc:
        raise ImageRejected(CORRUPT, str(exc)) from None
    width, height = im.size
    if width < 1 or height < 1:
        raise ImageRejected(CORRUPT, f"declared size {width}x{height}")
    if width * height > MAX_PIXELS:
        raise ImageRejected(TOO_MANY_PIXELS, f"{width}x{height} is more than {MAX_PIXELS} pixels")
    return im


def _load(im: ImageFile.ImageFile) -> None:
    """Decode the first frame completely, or say why it cannot be."""
    try:
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(TOO_MANY_PIXELS, str(exc)) from None
    except _DECODE_ERRORS as exc:
        raise ImageRejected(CORRUPT, str(exc) or type(exc).__name__) from None


def _looks_like_image(data: bytes) -> bool:
    if data.startswith(_SIGNATURES) or data.startswith(_TIFF_SIGNATURES):
        return True
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data[4:8] == b"ftyp" and data[8:12] in (_HEIF_BRANDS + _AVIF_BRANDS)


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1 to 8) of a loaded image; 1 when absent or unreadable.

    Damaged EXIF does not make a photo unusable: it is then taken as upright.
    """
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """`size` scaled down so its long side is at most `max_side` (never enlarged)."""
    width, height = size
    long_side = max(width, height)
    if long_side <= max_side:
        return size
    scale = max_side / long_side
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode_upright_rgb(data: bytes, max_side: int) -> Image.Image:
    """The first frame of `data`: upright, at most `max_side`, sRGB, no metadata."""
    im = _open(data)
    target = _fit(im.size, max_side)
    if im.format in ("JPEG", "MPO") and target != im.size:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale, never below `target`: a 12 MP
        # photo for a 1600 px report is decoded at 2000x1500, about twice as fast.
        im.draft(None, target)
    _load(im)
    orientation = _orientation(im)
    icc_profile = im.info.get("icc_profile")
    try:
        frame = _resizable(im)
        if frame.size != target:
            frame = frame.resize(target, _RESAMPLE, reducing_gap=2.0)
        frame = _flatten_to_srgb(frame, icc_profile if isinstance(icc_profile, bytes) else None)
    except ValueError as exc:  # a colour mode Pillow cannot convert (e.g. LAB TIFF)
        raise ImageRejected(CORRUPT, f"unsupported colours: {exc}") from None
    upright = _UPRIGHT.get(orientation)
    if upright is not None:
        frame = frame.transpose(upright)
    frame.info = {}  # Pillow copies comments and other metadata into saved files
    return frame


def _resizable(im: Image.Image) -> Image.Image:
    """`im` in a mode that resizes smoothly: L, LA, RGB, RGBA or CMYK."""
    mode = im.mode
    if mode in _DEEP_MODES:
        return _deep_to_gray(im)
    if mode == "1":
        return im.convert("L")
    if mode in ("P", "PA") or "transparency" in im.info:
        return im.convert("RGBA" if _has_alpha(im) else "RGB")
    if mode == "La":
        return im.convert("LA")
    if mode == "RGBa":
        return im.convert("RGBA")
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    return im.convert("RGB")


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in _ALPHA_MODES or "transparency" in im.info


def _deep_to_gray(im: Image.Image) -> Image.Image:
    """A 16-bit or 32-bit grayscale image as 8-bit, keeping its tones (not clipping)."""
    if im.mode.startswith("I;16"):
        scale = 1 / 257  # 0..65535 -> 0..255
        im = im.convert("I")
    else:
        extrema = im.getextrema()
        high = float(extrema[1]) if isinstance(extrema[1], int | float) else 255.0
        scale = 255 / high if high > 255 else 1.0
    return im.point(lambda v: v * scale).convert("L")


def _flatten_to_srgb(frame: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """`frame` as opaque sRGB: transparency on white, embedded colour profile applied."""
    if frame.mode in ("RGBA", "LA"):
        opaque_mode = "RGB" if frame.mode == "RGBA" else "L"
        white = Image.new(opaque_mode, frame.size, "white")
        white.paste(frame.convert(opaque_mode), mask=frame.getchannel("A"))
        frame = white
    if icc_profile:
        frame = _to_srgb(frame, icc_profile)
    return frame if frame.mode == "RGB" else frame.convert("RGB")


def _to_srgb(frame: Image.Image, icc_profile: bytes) -> Image.Image:
    """Convert colours described by `icc_profile` to sRGB; unchanged if it cannot be used.

    A broken or mismatched profile does not make a photo unusable: its pixels are then
    taken as sRGB, which is what a browser would do.
    """
    from PIL import ImageCms

    if frame.mode not in ("RGB", "L", "CMYK"):
        return frame
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if "sRGB" in ImageCms.getProfileDescription(source):
            return frame
        converted = ImageCms.profileToProfile(
            frame, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        log.debug("Ignoring an unusable colour profile: %s", exc)
        return frame
    return converted if converted is not None else frame


# --- signatures -----------------------------------------------------------------------


def _darkness_against_paper(gray: Image.Image) -> Image.Image:
    """How much darker each pixel is than the paper around it (0 = paper, 255 = black).

    The paper's brightness is estimated on a small thumbnail: a grey closing (max then
    min filter) wipes out pen strokes narrower than a few percent of the photo while
    keeping the edges of large light and shadow areas in place, and a blur smooths
    it. Dividing by this estimate makes a shadowed corner of the page as white as the
    rest, and ink in the shadow as dark as ink in the light.
    """
    factor = max(1, max(gray.size) // _BACKGROUND_SIDE)
    thumbnail = gray.reduce(factor)
    paper = (
        thumbnail.filter(ImageFilter.MaxFilter(7))
        .filter(ImageFilter.MinFilter(7))
        .filter(ImageFilter.GaussianBlur(2))
        .resize(gray.size, Image.Resampling.BILINEAR)
        .point(lambda v: max(v, 1))
    )
    darkness = ImageMath.lambda_eval(
        lambda im: (im["paper"] - im["gray"]) * 255 / im["paper"], paper=paper, gray=gray
    )
    if not isinstance(darkness, Image.Image):  # pragma: no cover - ImageMath contract
        raise TypeError("ImageMath did not return an image")
    return darkness.convert("L")  # negative (lighter than paper) clips to 0


def _otsu_threshold(histogram: list[int]) -> int:
    """Otsu's threshold: the level that best separates two groups of tones.

    Levels above the returned value form the darker group. 0 for a uniform image.
    """
    total = sum(histogram)
    weighted_total = sum(level * count for level, count in enumerate(histogram))
    below = 0
    weighted_below = 0
    best_level = 0
    best_spread = 0.0
    for level, count in enumerate(histogram):
        below += count
        weighted_below += level * count
        above = total - below
        if below == 0:
            continue
        if above == 0:
            break
        mean_below = weighted_below / below
        mean_above = (weighted_total - weighted_below) / above
        spread = below * above * (mean_below - mean_above) ** 2
        if spread > best_spread:
            best_spread = spread
            best_level = level
    return best_level
