"""Photos and signatures from the field, as the report and the client get them.

Every test image is drawn here with Pillow: no image file is committed.
"""

from __future__ import annotations

import io
import random
import struct
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFile

from reports.images import (
    MAX_PIXELS,
    ImageInfo,
    ImageRejected,
    PreparedCache,
    inspect_image,
    prepare_drawn_signature,
    prepare_photo,
    prepare_signature,
    register_heif,
    signature_preview,
)

RED = (255, 0, 0)
BLUE = (0, 0, 255)

# EXIF orientation -> how a camera stored the pixels of an upright scene.
STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, format=fmt, **params)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def upright_scene() -> Image.Image:
    """A landscape scene that looks different under each of the 8 orientations."""
    scene = Image.new("RGB", (300, 200), "white")
    scene.paste(RED, (0, 0, 60, 40))  # top-left corner
    scene.paste(BLUE, (240, 0, 300, 40))  # top-right corner
    return scene


def noisy_photo(size: tuple[int, int]) -> Image.Image:
    noise = Image.effect_noise(size, 40)
    return Image.merge(
        "RGB", (noise, noise.rotate(180), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )


def close_to(color: object, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    """Whether a pixel read with `getpixel` has about the expected RGB colour."""
    assert isinstance(color, tuple), f"expected an RGB pixel, got {color!r}"
    return all(abs(a - b) <= tolerance for a, b in zip(color[:3], expected, strict=True))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims `width` x `height` (a decompression bomb)."""
    data = bytearray(encode(Image.new("1", (1, 1)), "PNG"))
    # IHDR: 8-byte signature, 4-byte length, b"IHDR", then width and height.
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def gif_declaring(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("P", (1, 1)), "GIF"))
    struct.pack_into("<HH", data, 6, width, height)  # logical screen size
    return bytes(data)


# --- orientation and size -------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_sideways_phone_photo_comes_out_upright(orientation: int) -> None:
    scene = upright_scene()
    transform = STORED_AS[orientation]
    stored = scene if transform is None else scene.transpose(transform)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", exif=exif, quality=95)

    out = opened(prepare_photo(data))

    assert out.size == (300, 200)
    assert close_to(out.getpixel((10, 10)), RED)
    assert close_to(out.getpixel((290, 10)), BLUE)
    assert close_to(out.getpixel((10, 190)), (255, 255, 255))
    assert inspect_image(data) == ImageInfo("JPEG", 300, 200, "image/jpeg")


def test_a_12_megapixel_photo_is_reduced_to_1600_pixels_wide() -> None:
    data = encode(Image.new("RGB", (4000, 3000), (30, 120, 200)), "JPEG")

    out = opened(prepare_photo(data))

    assert out.size == (1600, 1200)
    assert close_to(out.getpixel((800, 600)), (30, 120, 200), tolerance=6)


def test_a_portrait_photo_is_reduced_on_its_long_side() -> None:
    data = encode(Image.new("RGB", (3000, 4000), "gray"), "JPEG")

    assert opened(prepare_photo(data, max_side=1000)).size == (750, 1000)


def test_a_small_photo_is_not_enlarged() -> None:
    data = encode(noisy_photo((640, 480)), "JPEG")

    assert opened(prepare_photo(data)).size == (640, 480)


def test_a_48_megapixel_phone_photo_is_accepted() -> None:
    data = encode(Image.new("L", (8000, 6000), 128), "JPEG")

    assert inspect_image(data) == ImageInfo("JPEG", 8000, 6000, "image/jpeg")
    assert opened(prepare_photo(data)).size == (1600, 1200)


def test_the_report_photo_is_a_progressive_jpeg_at_the_requested_quality() -> None:
    data = encode(noisy_photo((800, 600)), "PNG")

    high = prepare_photo(data, quality=90)
    low = prepare_photo(data, quality=40)

    out = opened(low)
    assert out.format == "JPEG"
    assert out.mode == "RGB"
    assert out.info.get("progressive") or out.info.get("progression")
    assert len(low) < len(high)


# --- metadata -------------------------------------------------------------------------


def test_the_photo_sent_on_carries_no_location_or_other_metadata() -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "CameraApp 1.0"  # Software
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (48.0, 51.0, 24.0)  # GPSLatitude
    gps[3] = "E"
    gps[4] = (2.0, 21.0, 3.0)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>GPSsecret</rdf:RDF></x:xmpmeta>'
    data = encode(
        noisy_photo((400, 300)), "JPEG", exif=exif, xmp=xmp, comment=b"site: 12 rue Secrete"
    )
    assert opened(data).getexif().get_ifd(0x8825), "the test photo should carry GPS tags"

    prepared = prepare_photo(data)

    out = opened(prepared)
    assert not out.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(out.info)
    for marker in (b"Exif", b"GPS", b"PhoneMaker", b"xmpmeta", b"ICC_PROFILE", b"Secrete"):
        assert marker not in prepared


def test_a_photo_with_a_colour_profile_comes_out_without_it() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(Image.new("RGB", (64, 48), (200, 40, 40)), "JPEG", icc_profile=srgb)

    prepared = prepare_photo(data)

    assert "icc_profile" not in opened(prepared).info
    assert b"ICC_PROFILE" not in prepared
    assert close_to(opened(prepared).getpixel((32, 24)), (200, 40, 40), tolerance=8)


def s15_fixed16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def xyz_tag(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + s15_fixed16(x) + s15_fixed16(y) + s15_fixed16(z)


XYZ = tuple[float, float, float]
SRGB_RED: XYZ = (0.4361, 0.2225, 0.0139)  # sRGB primaries as seen by ICC (D50)
SRGB_GREEN: XYZ = (0.3851, 0.7169, 0.0971)
SRGB_BLUE: XYZ = (0.1431, 0.0606, 0.7141)


def rgb_profile(description: str, red: XYZ, green: XYZ, blue: XYZ) -> bytes:
    """A minimal ICC v2 display profile with these primaries and a 2.2 gamma."""
    text = description.encode("ascii") + b"\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)
    gamma = b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0233) + bytes(2)
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz_tag(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz_tag(*red)),
        (b"gXYZ", xyz_tag(*green)),
        (b"bXYZ", xyz_tag(*blue)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table = body = b""
    for signature, data in tags:
        data += bytes(-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", offset + len(body))
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(28)
        + xyz_tag(0.9642, 1.0, 0.8249)[8:]
        + bytes(48)
    )
    return header + struct.pack(">I", len(tags)) + table + body


def test_a_photo_in_another_colour_space_keeps_its_colours_without_its_profile() -> None:
    # A camera profile whose "red" is sRGB's blue: only applying it gets the colour right.
    swapped = rgb_profile("Red and blue swapped", SRGB_BLUE, SRGB_GREEN, SRGB_RED)
    data = encode(Image.new("RGB", (64, 48), RED), "JPEG", icc_profile=swapped)

    prepared = prepare_photo(data)

    assert close_to(opened(prepared).getpixel((32, 24)), BLUE, tolerance=12)
    assert "icc_profile" not in opened(prepared).info
    assert b"ICC_PROFILE" not in prepared


def test_a_photo_with_a_broken_colour_profile_is_still_accepted() -> None:
    data = encode(Image.new("RGB", (64, 48), RED), "JPEG", icc_profile=b"not a profile" * 10)

    assert close_to(opened(prepare_photo(data)).getpixel((32, 24)), RED)


# --- colour modes ---------------------------------------------------------------------


def test_a_transparent_png_gets_a_white_background() -> None:
    im = Image.new("RGBA", (100, 80), (0, 0, 0, 0))
    im.paste((0, 128, 0, 255), (0, 0, 50, 80))

    out = opened(prepare_photo(encode(im, "PNG")))

    assert (out.format, out.mode) == ("JPEG", "RGB")
    assert close_to(out.getpixel((10, 40)), (0, 128, 0), tolerance=12)
    assert close_to(out.getpixel((90, 40)), (255, 255, 255), tolerance=6)


def test_a_cmyk_jpeg_comes_out_in_rgb() -> None:
    cmyk = Image.new("CMYK", (80, 60), (0, 255, 255, 0))  # red ink

    out = opened(prepare_photo(encode(cmyk, "JPEG")))

    assert out.mode == "RGB"
    assert close_to(out.getpixel((40, 30)), RED)


def test_a_palette_gif_comes_out_in_rgb_and_only_its_first_frame_counts() -> None:
    first = Image.new("RGB", (60, 40), BLUE).convert("P")
    second = Image.new("RGB", (60, 40), RED).convert("P")
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100)
    assert opened(data).n_frames == 2  # type: ignore[attr-defined]

    out = opened(prepare_photo(data))

    assert out.mode == "RGB"
    assert close_to(out.getpixel((30, 20)), BLUE)
    assert inspect_image(data) == ImageInfo("GIF", 60, 40, "image/gif")


def test_a_16_bit_grayscale_png_keeps_its_tones() -> None:
    im = Image.new("I;16", (64, 32), 0)
    im.paste(Image.new("I;16", (32, 32), 32768), (32, 0))  # mid gray, not white
    data = encode(im, "PNG")
    assert opened(data).mode.startswith("I")

    out = opened(prepare_photo(data))

    assert out.mode == "RGB"
    assert close_to(out.getpixel((8, 16)), (0, 0, 0), tolerance=6)
    assert close_to(out.getpixel((56, 16)), (128, 128, 128), tolerance=6)


@pytest.mark.parametrize(
    ("mode", "color"),
    [("LA", (90, 255)), ("1", 1), ("L", 90), ("RGBA", (10, 20, 30, 255))],
)
def test_other_colour_modes_come_out_in_rgb(mode: str, color: object) -> None:
    data = encode(Image.new(mode, (40, 30), color), "PNG")  # type: ignore[arg-type]

    out = opened(prepare_photo(data))

    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (40, 30))


@pytest.mark.parametrize(
    ("fmt", "expected_format", "mime"),
    [
        ("PNG", "PNG", "image/png"),
        ("WEBP", "WEBP", "image/webp"),
        ("TIFF", "TIFF", "image/tiff"),
        ("BMP", "BMP", "image/bmp"),
        ("MPO", "JPEG", "image/jpeg"),
    ],
)
def test_photos_sent_as_files_are_recognised_by_their_content(
    fmt: str, expected_format: str, mime: str
) -> None:
    scene = upright_scene()
    extra = {"save_all": True, "append_images": [scene.rotate(180)]} if fmt == "MPO" else {}
    data = encode(scene, fmt, **extra)

    assert inspect_image(data) == ImageInfo(expected_format, 300, 200, mime)
    out = opened(prepare_photo(data))
    assert out.size == (300, 200)
    assert close_to(out.getpixel((10, 10)), RED)


def test_an_iphone_heic_photo_is_accepted() -> None:
    register_heif()
    register_heif()  # a second call changes nothing
    try:
        data = encode(upright_scene(), "HEIF", quality=90)
    except (KeyError, OSError, ValueError) as exc:
        pytest.skip(f"this pillow-heif build cannot write HEIC to make a test photo: {exc}")

    info = inspect_image(data)

    assert (info.format, info.width, info.height) == ("HEIF", 300, 200)
    assert info.mime_type in ("image/heic", "image/heif")
    out = opened(prepare_photo(data))
    assert (out.format, out.size) == ("JPEG", (300, 200))
    assert close_to(out.getpixel((10, 10)), RED)


# --- refused files --------------------------------------------------------------------


def test_a_photo_cut_short_in_transfer_is_refused_as_corrupt() -> None:
    data = encode(noisy_photo((400, 300)), "JPEG")
    cut = data[: len(data) // 2]

    for check in (inspect_image, prepare_photo, prepare_signature):
        with pytest.raises(ImageRejected) as refused:
            check(cut)
        assert refused.value.reason == "corrupt"


def test_a_png_cut_inside_its_header_is_refused_as_corrupt() -> None:
    data = encode(noisy_photo((40, 30)), "PNG")

    with pytest.raises(ImageRejected) as refused:
        inspect_image(data[:20])
    assert refused.value.reason == "corrupt"


@pytest.mark.parametrize(
    "data",
    [
        random.Random(7).randbytes(4096),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "Bon d'intervention n° OT-2026-0042\n".encode() * 20,
        b"",
    ],
    ids=["random bytes", "pdf", "text", "empty"],
)
def test_a_file_that_is_not_an_image_is_refused(data: bytes) -> None:
    for check in (inspect_image, prepare_photo, prepare_signature):
        with pytest.raises(ImageRejected) as refused:
            check(data)
        assert refused.value.reason == "not_an_image"


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    "data",
    [
        png_declaring(30_000, 30_000),  # over twice Pillow's own limit
        png_declaring(12_000, 9_000),  # where Pillow would only warn
        png_declaring(10_000, 8_000),  # below Pillow's limit, above ours
        gif_declaring(65_535, 65_535),
    ],
    ids=["png 30000x30000", "png 12000x9000", "png 10000x8000", "gif 65535x65535"],
)
def test_a_decompression_bomb_is_refused_at_once_and_quietly(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def decode(image: ImageFile.ImageFile) -> None:
        raise AssertionError("the pixels were decoded before the size was checked")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)
    for check in (inspect_image, prepare_photo, prepare_signature):
        with pytest.raises(ImageRejected) as refused:
            check(data)
        assert refused.value.reason == "too_many_pixels"


def test_a_decompression_bomb_prints_no_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageRejected):
            inspect_image(png_declaring(12_000, 9_000))
    assert caught == []


def test_the_pixel_limit_is_64_megapixels() -> None:
    assert MAX_PIXELS == 64_000_000
    refused = ImageRejected("too_many_pixels", "9000x9000")
    assert (refused.reason, refused.detail) == ("too_many_pixels", "9000x9000")
    assert "too_many_pixels" in str(refused)


# --- signatures -----------------------------------------------------------------------


SCRIBBLE_BOX = (300, 330, 900, 570)


def scribble(draw: ImageDraw.ImageDraw, fill: int) -> None:
    """A looping handwritten-like stroke inside SCRIBBLE_BOX."""
    left, top, right, bottom = SCRIBBLE_BOX
    points = []
    for step in range(241):
        t = step / 240
        x = left + 10 + (right - left - 20) * t + 30 * ((step % 40) / 40 - 0.5)
        y = (top + bottom) / 2 + (bottom - top - 30) / 2 * (1 if (step // 20) % 2 else -1) * (
            ((step % 20) / 20) * 2 - 1
        )
        points.append((x, y))
    draw.line(points, fill=fill, width=7, joint="curve")


def paper_photo(with_ink: bool) -> bytes:
    """A phone photo of light gray paper, a shadow across it, sensor noise, maybe ink."""
    size = (1200, 900)
    paper = Image.new("L", size, 215)
    if with_ink:
        scribble(ImageDraw.Draw(paper), fill=35)
    # The light falls off towards the right: the right edge gets 55% of the light.
    shadow = Image.linear_gradient("L").rotate(90).resize(size).point(lambda v: 255 - v * 0.45)
    shaded = ImageChops.multiply(paper, shadow)
    noisy = ImageChops.add(shaded, Image.effect_noise(size, 6), scale=1.0, offset=-128)
    return encode(noisy.convert("RGB"), "JPEG", quality=85)


def stroke_pixels() -> int:
    mask = Image.new("L", (1200, 900), 0)
    scribble(ImageDraw.Draw(mask), fill=255)
    return mask.histogram()[255]


def test_a_photographed_signature_becomes_clean_ink_on_a_transparent_background() -> None:
    out = opened(prepare_signature(paper_photo(with_ink=True)))

    assert (out.format, out.mode) == ("PNG", "RGBA")
    # Cropped close to the scribble: its box plus a small margin on each side.
    left, top, right, bottom = SCRIBBLE_BOX
    assert right - left <= out.width <= (right - left) * 1.2
    assert bottom - top <= out.height <= (bottom - top) * 1.35
    alpha = out.getchannel("A")
    box = alpha.getbbox()
    assert box is not None
    assert box[0] <= 0.1 * out.width and box[2] >= 0.9 * out.width
    assert box[1] <= 0.15 * out.height and box[3] >= 0.85 * out.height
    # The paper is fully transparent: only about the stroke's own pixels show.
    counts = alpha.histogram()
    visible = out.width * out.height - counts[0]
    assert 0.8 * stroke_pixels() <= visible <= 1.6 * stroke_pixels()
    for corner in (
        (2, 2),
        (out.width - 3, 2),
        (2, out.height - 3),
        (out.width - 3, out.height - 3),
    ):
        assert alpha.getpixel(corner) == 0
    # The ink is dark and mostly opaque, in the light and in the shadow alike.
    assert sum(counts[200:]) >= 0.5 * stroke_pixels()
    ink = [out.getpixel((x, y)) for x in range(out.width) for y in range(0, out.height, 3)]
    opaque = [pixel for pixel in ink if pixel[3] >= 200]  # type: ignore[index]
    assert all(max(pixel[:3]) <= 60 for pixel in opaque)  # type: ignore[index]
    shadowed_half = alpha.crop((out.width // 2, 0, out.width, out.height))
    assert sum(shadowed_half.histogram()[200:]) >= 0.2 * stroke_pixels()


def test_a_cleaned_signature_is_shown_back_as_dark_ink_on_white_paper() -> None:
    cleaned = prepare_signature(paper_photo(with_ink=True))
    shown = opened(signature_preview(cleaned))

    # Opaque (a chat may show a transparent picture on black), with a white margin.
    assert (shown.format, shown.mode) == ("PNG", "RGB")
    signature = opened(cleaned)
    assert shown.width > signature.width and shown.height > signature.height
    for corner in ((0, 0), (shown.width - 1, 0), (0, shown.height - 1)):
        assert shown.getpixel(corner) == (255, 255, 255)
    gray = shown.convert("L")
    assert sum(gray.histogram()[:60]) >= 0.5 * stroke_pixels()  # the ink, dark
    assert gray.histogram()[255] >= 0.5 * shown.width * shown.height  # the paper, white


def test_a_signature_is_reduced_to_the_requested_size() -> None:
    out = opened(prepare_signature(paper_photo(with_ink=True), max_side=300))

    assert max(out.size) == 300


@pytest.mark.parametrize(
    "data",
    [
        paper_photo(with_ink=False),
        encode(Image.new("RGB", (800, 600), (230, 230, 225)), "JPEG"),
        encode(Image.new("RGB", (800, 600), (20, 20, 20)), "PNG"),
    ],
    ids=["blank page in a shadow", "uniform light image", "uniform dark image"],
)
def test_a_photo_without_a_signature_is_refused(data: bytes) -> None:
    with pytest.raises(ImageRejected) as refused:
        prepare_signature(data)
    assert refused.value.reason == "not_a_signature"


def drawing(background: tuple[int, int, int, int], ink: tuple[int, int, int, int]) -> bytes:
    """A signature drawn on a 1200 x 900 pad, as the page exports it."""
    image = Image.new("RGBA", (1200, 900), background)
    scribble(ImageDraw.Draw(image), fill=ink)  # type: ignore[arg-type]
    return encode(image, "PNG")


@pytest.mark.parametrize(
    ("background", "ink"),
    [((0, 0, 0, 0), (16, 32, 74, 255)), ((255, 255, 255, 255), (20, 20, 20, 255))],
    ids=["ink on transparency", "ink on an opaque white pad"],
)
def test_a_drawn_signature_is_cropped_to_its_ink_as_a_cleaned_photo_is(
    background: tuple[int, int, int, int], ink: tuple[int, int, int, int]
) -> None:
    out = opened(prepare_drawn_signature(drawing(background, ink), (1200, 900)))
    assert out.mode == "RGBA" and out.format == "PNG"
    left, top, right, bottom = SCRIBBLE_BOX
    # Cropped to the scribble with a small margin, then at most 800 px wide.
    assert out.width <= 800 and abs(out.width / out.height - (right - left) / (bottom - top)) < 0.2
    clear, darkest = out.getchannel("A").getextrema()
    assert clear == 0 and darkest >= 230  # the ink opaque as it was drawn
    assert out.getpixel((0, 0))[3] == 0  # the corner is transparent paper
    assert {out.getpixel((x, y))[:3] for x in range(out.width) for y in range(out.height)} == {
        (0, 0, 0)
    }


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (encode(Image.new("RGBA", (600, 300), (0, 0, 0, 0)), "PNG"), "not_a_signature"),
        (encode(Image.new("RGBA", (2000, 300), (0, 0, 0, 0)), "PNG"), "too_many_pixels"),
        (encode(Image.new("RGB", (600, 300), "white"), "JPEG"), "not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "corrupt"),
    ],
    ids=["empty pad", "wider than allowed", "a JPEG", "a PNG cut short"],
)
def test_a_drawn_signature_without_ink_or_too_large_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected) as refused:
        prepare_drawn_signature(data, (1600, 800))
    assert refused.value.reason == reason


# --- the prepared photo cache ---------------------------------------------------------


class Loader:
    """Hands out the original photo and counts how often it was asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return self.data


def test_a_report_rendered_again_reuses_the_prepared_photo(tmp_path: Path) -> None:
    cache = PreparedCache(tmp_path / "prepared")
    load = Loader(encode(noisy_photo((2000, 1500)), "JPEG"))

    first = cache.get("sha256-of-photo", load, max_side=1600, quality=80)
    second = cache.get("sha256-of-photo", load, max_side=1600, quality=80)

    assert load.calls == 1
    assert first == second
    assert opened(first).size == (1600, 1200)
    assert [p.name for p in (tmp_path / "prepared").iterdir() if p.name.startswith(".")] == []


def test_other_sizes_of_the_same_photo_are_prepared_separately(tmp_path: Path) -> None:
    cache = PreparedCache(tmp_path)
    load = Loader(encode(noisy_photo((900, 600)), "JPEG"))

    small = cache.get("photo", load, max_side=300, quality=80)
    large = cache.get("photo", load, max_side=600, quality=80)
    worse = cache.get("photo", load, max_side=600, quality=30)

    assert load.calls == 3
    assert (opened(small).width, opened(large).width, opened(worse).width) == (300, 600, 600)
    assert len(list(tmp_path.iterdir())) == 3


def test_a_damaged_cache_file_is_prepared_again(tmp_path: Path) -> None:
    cache = PreparedCache(tmp_path)
    load = Loader(encode(noisy_photo((500, 400)), "JPEG"))
    good = cache.get("photo", load, max_side=1600, quality=80)
    (stored,) = tmp_path.iterdir()

    for damage in (stored.read_bytes()[:-100], b"", b"garbage" * 100):
        stored.write_bytes(damage)
        assert cache.get("photo", load, max_side=1600, quality=80) == good
    flipped = bytearray(stored.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    stored.write_bytes(bytes(flipped))
    assert cache.get("photo", load, max_side=1600, quality=80) == good
    assert load.calls == 5

    assert cache.get("photo", load, max_side=1600, quality=80) == good
    assert load.calls == 5  # the rewritten file is good again


@pytest.mark.parametrize("key", ["../../outside", "/etc/passwd", "..", "a/../../b\0c", ""])
def test_a_hostile_cache_key_stays_inside_the_cache_folder(tmp_path: Path, key: str) -> None:
    folder = tmp_path / "cache"
    cache = PreparedCache(folder)

    cache.get(key, encode(noisy_photo((60, 40)), "JPEG"), max_side=1600, quality=80)

    assert cache.path_for(key, 1600, 80).parent == folder
    assert [p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*")] == ["cache", "cache"]


def test_a_refused_photo_leaves_nothing_in_the_cache(tmp_path: Path) -> None:
    cache = PreparedCache(tmp_path)

    with pytest.raises(ImageRejected):
        cache.get("pdf", b"%PDF-1.7\n", max_side=1600, quality=80)

    assert list(tmp_path.iterdir()) == []


def test_a_cache_that_cannot_be_written_still_gives_the_photo(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_bytes(b"a file where the cache folder should be")
    cache = PreparedCache(blocked)

    prepared = cache.get("photo", encode(noisy_photo((60, 40)), "JPEG"), 1600, 80)

    assert opened(prepared).size == (60, 40)
    assert "Cannot store prepared photo" in caplog.text


def test_a_telegram_sized_photo_keeps_its_pixels_and_loses_its_metadata() -> None:
    """Already small and upright: no re-encoding (no lost quality), metadata cut out."""
    source = Image.effect_noise((1280, 960), 40).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {2: (48.0, 51.0, 24.0), 4: (2.0, 21.0, 3.0)}  # GPS latitude, longitude
    buffer = io.BytesIO()
    source.save(buffer, "JPEG", quality=87, exif=exif, comment=b"taken on site")
    original = buffer.getvalue()
    prepared = prepare_photo(original)
    scan = original.index(b"\xff\xda")
    assert prepared.endswith(original[scan:]), "the compressed image must be untouched"
    assert b"Exif" not in prepared and b"taken on site" not in prepared
    with Image.open(io.BytesIO(prepared)) as result:
        assert result.size == (1280, 960) and not result.getexif()
