"""The PDF report, checked by what a reader finds in it (text, pages, images), not by bytes.

Photos here are small (a few hundred pixels) to keep the file fast; speed and size
with real photo sizes are measured by `python -m reports bench`, not by tests.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, StreamObject

from reports.data import (
    Acceptance,
    Client,
    Company,
    DistanceTravel,
    FlatTravel,
    Intervention,
    Outcome,
    PartLine,
    Photo,
    PhotoTag,
    Pricing,
    ReportData,
    Sections,
)
from reports.formatting import Formatter
from reports.images import PreparedCache
from reports.labels import catalog
from reports.pdf import build_report
from reports.sample import make_photo, sample_photos, sample_report
from reports.totals import compute_totals, line_total, to_cents
from reports.verify import (
    ALPHABET,
    Verdict,
    check_pdf,
    new_verification_code,
    normalize_code,
    read_verification_code,
    sha256,
)
from tests.helpers import pdf_text

SMALL = (320, 240)


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    """Text with every run of white space made one space (table cells wrap lines)."""
    return re.sub(r"\s+", " ", text)


def minimal_report(**changes: object) -> ReportData:
    """A report with only what is required: most sections empty."""
    data = ReportData(
        company=Company(name="Plomberie Lenoir"),
        client=Client(name="Hôtel du Parc"),
        intervention=Intervention(number="OT-2026-0007", kind="Dépannage", technician="Jean Roux"),
        pricing=Pricing(hours=Decimal("1"), labour_rate=Decimal("50")),
        verification_code="ABCDE-12345",
        issued_at=datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
    )
    return dataclasses.replace(data, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def french_pdf() -> bytes:
    return build_report(sample_report("fr", sample_photos(3, "fr", size=SMALL)))


@pytest.fixture(scope="module")
def english_pdf() -> bytes:
    return build_report(sample_report("en", sample_photos(2, "en", size=SMALL)))


# -- what the report says -------------------------------------------------------------


def test_french_report_holds_every_section_in_order(french_pdf: bytes) -> None:
    text = pdf_text(french_pdf)
    headings = [
        "Client",
        "Intervention",
        "Contexte",
        "Objectif",
        "Méthodes, outils et équipements",
        "Points de contrôle",
        "Travaux réalisés",
        "Résultats",
        "Remarques et recommandations",
        "Pièces et fournitures",
        "Montant",
        "Conditions de paiement",
        "Réception des travaux",
        "Annexe : photos",
        "Autres pièces jointes",
    ]
    positions = [text.find(heading) for heading in headings]
    assert all(position >= 0 for position in positions), dict(zip(headings, positions, strict=True))
    assert positions == sorted(positions)


def test_header_and_footer_are_on_every_page(french_pdf: bytes) -> None:
    pages = page_texts(french_pdf)
    for number, text in enumerate(pages, start=1):
        assert "Bon d'intervention" in text
        assert "OT-2026-0042" in text
        assert "Thermique Dupont & Fils" in text
        assert "SIRET 812 345 678 00024" in text
        assert "7K2QM-X9D4R" in text
        assert f"page {number}/{len(pages)}" in text


def test_names_and_accented_text_come_out_as_typed(french_pdf: bytes) -> None:
    text = flat(pdf_text(french_pdf))
    for expected in (
        "Boulangerie Martin",
        "Élodie Martin",
        "Nguyễn Văn An",
        "Nettoyant pour cœur d'échangeur",
        "Joint de chambre de combustion — silicone haute température",
        "NET-CŒUR-500",
        "CO₂",
        "Main-d'œuvre",
    ):
        assert expected in text, expected
    assert "45.75498, 4.86231 (± 12 m)" in text
    assert b"https://www.openstreetmap.org/?mlat=45.754980&mlon=4.862310" in french_pdf


def test_totals_are_printed_the_french_way(french_pdf: bytes) -> None:
    text = flat(pdf_text(french_pdf))
    data = sample_report("fr")
    totals = compute_totals(data.pricing, data.parts)
    assert totals.incl_vat == Decimal("281.28")
    # Narrow no-break space between thousands, no-break space before €; a comma for cents.
    assert "Total TTC 281,28 €" in text
    assert "Total HT 255,71 €" in text
    assert "TVA 10 % sur 255,71 € 25,57 €" in text
    assert "Main-d'œuvre : 2 h 30 (2,5 h) × 62,00 € 155,00 €" in text
    assert "Temps passé 2 h 30" in text
    assert "Déplacement (18 km × 0,65 €) 11,70 €" in text
    assert "22/11/2026 09:05" in text  # started at 08:05 UTC, printed in Paris time


def test_english_report_speaks_english(english_pdf: bytes) -> None:
    text = flat(pdf_text(english_pdf))
    for expected in (
        "Intervention report",
        "Context",
        "Work done",
        "Objectives met: partly",
        "Parts and supplies",
        "Total incl. VAT €281.28",
        "Labour: 2 h 30 min (2.5 h) × €62.00 €155.00",
        "Time worked 2 h 30 min",
        "22 Nov 2026, 09:05",
        "Acceptance of the work",
        "Annex: photos",
        "Verification code: 7K2QM-X9D4R",
        "page 1/",
    ):
        assert expected in text, expected
    assert "Bon d'intervention" not in text
    assert "Total TTC" not in text


def test_checklist_shows_ticked_and_unticked_boxes(french_pdf: bytes) -> None:
    text = pdf_text(french_pdf)
    data = sample_report("fr")
    ticked = sum(item.checked for item in data.sections.checklist)
    assert text.count("☑") == ticked == 5
    assert text.count("☐") == len(data.sections.checklist) - ticked == 2


def test_acceptance_with_reservations_shows_them_and_both_signers(french_pdf: bytes) -> None:
    text = flat(pdf_text(french_pdf))
    assert "Le client accepte les travaux avec les réserves suivantes" in text
    assert "Le thermostat d'ambiance affiche encore une erreur" in text
    assert "Signée sur l'écran le 22/11/2026 à 11:50" in text
    assert "Le technicien" in text
    assert "Photo d'une signature sur papier, le 10/11/2026 à 06:05" in text


@pytest.mark.parametrize(
    ("language", "signed_on", "expected"),
    [
        ("fr", "screen", "Signée sur l'écran le 22/11/2026 à 15:40"),
        ("fr", "paper", "Photo d'une signature sur papier, le 22/11/2026 à 15:40"),
        ("fr", None, "Signé le 22/11/2026 15:40"),
        ("en", "screen", "Signed on the screen on 22 Nov 2026 at 15:40"),
        ("en", "paper", "Photo of a signature on paper, 22 Nov 2026 at 15:40"),
    ],
)
def test_each_signature_says_how_it_was_given(
    language: str, signed_on: str | None, expected: str
) -> None:
    moment = datetime(2026, 11, 22, 14, 40, tzinfo=UTC)
    data = minimal_report(
        language=language,
        acceptance=Acceptance("Mme Roux", signed_at=moment, signed_on=signed_on),
        technician_signed_at=moment,
        technician_signed_on=signed_on,
    )
    text = flat(pdf_text(build_report(data)))
    assert text.count(expected) == 2


def test_report_without_client_signature_says_so() -> None:
    text = pdf_text(build_report(minimal_report()))
    assert "Le client n'a pas signé ce bon d'intervention." in text
    assert "(pas de signature)" in text


def test_empty_optional_sections_are_left_out() -> None:
    pdf = build_report(
        minimal_report(sections=Sections(work_done="Remplacement du mitigeur de la chambre 12."))
    )
    text = pdf_text(pdf)
    assert "Travaux réalisés" in text
    for absent in (
        "Contexte",
        "Objectif",
        "Méthodes",
        "Points de contrôle",
        "Résultats",
        "Remarques",
        "Pièces et fournitures",
        "Conditions de paiement",
        "Annexe",
        "Autres pièces jointes",
        "Contact",
        "Position GPS",
    ):
        assert absent not in text, absent
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


# -- pages, tables and images ------------------------------------------------------------


def test_long_text_flows_onto_more_pages_and_the_parts_header_repeats() -> None:
    short = build_report(minimal_report())
    parts = tuple(
        PartLine(f"REF-{n:03d}", f"Raccord laiton n° {n}", Decimal("2"), Decimal("1.15"))
        for n in range(90)
    )
    long_remarks = "\n\n".join(
        f"Remarque {n} : le réseau d'eau chaude sanitaire présente un entartrage important."
        for n in range(60)
    )
    pdf = build_report(minimal_report(sections=Sections(remarks=long_remarks), parts=parts))
    pages = page_texts(pdf)
    assert len(PdfReader(io.BytesIO(short)).pages) == 1
    assert len(pages) >= 4
    assert "Remarque 59" in "".join(pages)
    pages_with_parts = [text for text in pages if "REF-" in text]
    assert len(pages_with_parts) >= 2
    for text in pages_with_parts:
        assert "Désignation" in text and "P.U. HT" in text
    # 90 lines of 2 x 1,15 € = 207,00 €, plus 50 € of labour.
    assert "Total HT 257,00 €" in flat(pdf_text(pdf))


def image_streams(pdf: bytes) -> list[tuple[int, StreamObject]]:
    """(page number, image stream) of every image drawn, page by page."""
    found = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages, start=1):
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else None
        xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
        xobjects = xobjects.get_object() if xobjects is not None else None
        if not isinstance(xobjects, DictionaryObject):
            continue
        for reference in xobjects.values():
            xobject = reference.get_object()
            if isinstance(xobject, StreamObject) and str(xobject["/Subtype"]) == "/Image":
                found.append((number, xobject))
    return found


def embedded_images(pdf: bytes) -> list[tuple[int, str]]:
    """(page number, compression filter) of every image drawn, page by page."""
    return [(number, str(stream.get("/Filter"))) for number, stream in image_streams(pdf)]


def test_photos_are_embedded_as_jpeg_in_a_grid_of_six_per_page() -> None:
    photos = sample_photos(8, "fr", size=SMALL)
    pdf = build_report(minimal_report(photos=tuple(photos)))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3  # the report, then 6 photos, then 2
    photos_per_page = [len(page.images) for page in reader.pages]
    assert photos_per_page == [0, 6, 2]
    filters = [image_filter for _, image_filter in embedded_images(pdf)]
    assert filters == ["/DCTDecode"] * 8
    text = pdf_text(pdf)
    assert "Photo 8 · 22/11/2026 09:54" in text
    assert "AVANT" in text and "APRÈS" in text


def test_logo_and_signatures_are_images_too(french_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(french_pdf))
    # Logo on each page; two signatures on the acceptance page; 3 photos.
    total = sum(len(page.images) for page in reader.pages)
    assert total == len(reader.pages) + 2 + 3


def test_signatures_keep_their_transparency(french_pdf: bytes) -> None:
    # fpdf2 stores a PNG's alpha channel as a soft mask beside the colour data.
    page = next(n for n, text in enumerate(page_texts(french_pdf), 1) if "Le technicien" in text)
    soft_masked = [
        stream
        for number, stream in image_streams(french_pdf)
        if number == page and "/SMask" in stream
    ]
    assert len(soft_masked) == 3  # both signatures, and the logo (also a transparent PNG)


def test_reports_render_side_by_side_in_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    codes = ["AAAAA-11111", "BBBBB-22222", "CCCCC-33333"]
    with ThreadPoolExecutor(max_workers=3) as pool:
        pdfs = list(
            pool.map(lambda code: build_report(minimal_report(verification_code=code)), codes)
        )
    assert [read_verification_code(pdf) for pdf in pdfs] == codes


def gps_photo() -> bytes:
    """A phone-like JPEG with EXIF: make, model, date and a GPS position, turned sideways."""
    image = Image.new("RGB", (400, 300), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "SecretModel X"
    exif[0x0112] = 6  # orientation: rotate 90° to display
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (45.0, 45.0, 17.9)
    gps[3], gps[4] = "E", (4.0, 51.0, 44.3)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def jpeg_segments(jpeg: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the start of the image data."""
    assert jpeg[:2] == b"\xff\xd8"
    markers, position = [], 2
    while jpeg[position] == 0xFF and jpeg[position + 1] != 0xDA:  # until Start Of Scan
        marker = jpeg[position + 1]
        length = int.from_bytes(jpeg[position + 2 : position + 4], "big")
        markers.append(marker)
        position += 2 + length
    return markers


def test_no_exif_or_gps_reaches_the_pdf() -> None:
    original = gps_photo()
    assert b"Exif" in original and b"SecretModel X" in original
    assert 0xE1 in jpeg_segments(original)  # APP1: the EXIF block
    photo = Photo(key="gps", source=original, caption="Compteur")
    pdf = build_report(
        minimal_report(
            photos=(photo,),
            # A phone photo used as a logo or a signature must not leak either.
            company=Company(name="Plomberie Lenoir", logo=original),
            technician_signature=original,
        ),
        max_photo_side=800,
    )
    assert b"Exif" not in pdf
    assert b"SecretModel" not in pdf and b"PhoneMaker" not in pdf
    (stream,) = [
        stream for _, stream in image_streams(pdf) if "/DCTDecode" in str(stream["/Filter"])
    ]
    # The embedded JPEG has no APP1 (EXIF, XMP) nor any other metadata segment.
    segments = jpeg_segments(stream.get_data())
    assert not [m for m in segments if 0xE1 <= m <= 0xEF or m == 0xFE], segments
    # Upright: the sideways 400x300 original becomes 300x400.
    with Image.open(io.BytesIO(stream.get_data())) as embedded:
        assert embedded.size == (300, 400)


def test_unreadable_photo_is_shown_as_such_and_does_not_stop_the_report() -> None:
    photos = (
        Photo(key="bad", source=b"not an image at all", caption="Corrompue"),
        Photo(key="good", source=make_photo(1, SMALL), tag=PhotoTag.AFTER),
    )
    pdf = build_report(minimal_report(photos=photos))
    assert "Photo illisible" in pdf_text(pdf)
    assert len(embedded_images(pdf)) == 1


def test_cached_photos_are_not_loaded_again(tmp_path: Path) -> None:
    loads: list[int] = []

    def loader() -> bytes:
        loads.append(1)
        return make_photo(2, SMALL)

    data = minimal_report(photos=(Photo(key="k1", source=loader),))
    cache = PreparedCache(tmp_path)
    first = build_report(data, cache=cache)
    second = build_report(data, cache=cache)
    assert loads == [1]
    assert embedded_images(first) == embedded_images(second) == [(2, "/DCTDecode")]


def test_metadata_names_the_document() -> None:
    pdf = build_report(minimal_report())
    metadata = PdfReader(io.BytesIO(pdf)).metadata
    assert metadata is not None
    assert metadata.title == "Bon d'intervention OT-2026-0007"
    assert metadata.author == "Plomberie Lenoir"
    assert metadata.subject == "OT-2026-0007"
    assert "verification:ABCDE-12345" in str(metadata.get("/Keywords"))
    assert metadata.creation_date == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_labels_exist_in_both_languages() -> None:
    assert catalog("fr").keys() == catalog("en").keys()


# -- totals ----------------------------------------------------------------------------------


def test_each_part_line_is_rounded_half_up_before_the_sum() -> None:
    assert line_total(Decimal("3"), Decimal("0.335")) == Decimal("1.01")  # 1.005 -> 1.01
    assert line_total(Decimal("0.5"), Decimal("0.25")) == Decimal("0.13")  # 0.125 -> 0.13
    pricing = Pricing(hours=Decimal("0"), labour_rate=Decimal("0"), vat_rate=Decimal("0.20"))
    parts = [PartLine("A", "a", Decimal("3"), Decimal("0.335"))] * 2
    totals = compute_totals(pricing, parts)
    # Two lines of 1.01 (not 2 x 1.005 = 2.01 rounded once).
    assert totals.part_lines == (Decimal("1.01"), Decimal("1.01"))
    assert totals.parts == Decimal("2.02")


def test_vat_is_computed_once_on_the_rounded_base() -> None:
    pricing = Pricing(
        hours=Decimal("1.25"),
        labour_rate=Decimal("45.10"),  # 56.375 -> 56.38
        travel=DistanceTravel(Decimal("13.3"), Decimal("0.59")),  # 7.847 -> 7.85
        vat_rate=Decimal("0.055"),
    )
    totals = compute_totals(pricing, [PartLine("J", "Joint", Decimal("1"), Decimal("0.99"))])
    assert (totals.labour, totals.travel, totals.parts) == (
        Decimal("56.38"),
        Decimal("7.85"),
        Decimal("0.99"),
    )
    assert totals.excl_vat == Decimal("65.22")
    (vat,) = totals.vat
    assert (vat.rate, vat.base, vat.amount) == (Decimal("0.055"), Decimal("65.22"), Decimal("3.59"))
    assert totals.incl_vat == Decimal("68.81") == totals.excl_vat + totals.vat_total
    for amount in (totals.labour, totals.excl_vat, totals.incl_vat, vat.amount):
        assert amount.as_tuple().exponent == -2


def test_flat_travel_default_vat_and_no_parts() -> None:
    pricing = Pricing(
        hours=Decimal("2"), labour_rate=Decimal("55"), travel=FlatTravel(Decimal("35"))
    )
    totals = compute_totals(pricing)
    assert totals.excl_vat == Decimal("145.00")
    assert totals.vat[0].rate == Decimal("0.20")
    assert totals.vat[0].amount == Decimal("29.00")
    assert totals.incl_vat == Decimal("174.00")
    assert totals.parts == Decimal("0.00") and totals.part_lines == ()


def test_totals_refuse_floats_and_negative_amounts() -> None:
    with pytest.raises(TypeError):
        compute_totals(Pricing(hours=1.5, labour_rate=Decimal("50")))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compute_totals(Pricing(hours=Decimal("-1"), labour_rate=Decimal("50")))
    with pytest.raises(ValueError):
        compute_totals(
            Pricing(hours=Decimal("1"), labour_rate=Decimal("50"), vat_rate=Decimal("20"))
        )
    assert to_cents(Decimal("-2.345")) == Decimal("-2.35")


# -- formatting -----------------------------------------------------------------------------


def test_money_and_dates_follow_the_language() -> None:
    moment = datetime(2026, 11, 22, 13, 30, tzinfo=UTC)
    french = Formatter("fr", "Europe/Paris")
    english = Formatter("en", "Europe/Paris")
    assert french.money(Decimal("1234.56")) == "1\u202f234,56\u00a0€"
    assert english.money(Decimal("1234.56")) == "€1,234.56"
    assert french.datetime(moment) == "22/11/2026 14:30"
    assert english.datetime(moment) == "22 Nov 2026, 14:30"
    assert french.percent(Decimal("0.055")) == "5,5\u00a0%"
    assert french.size(2_457_600) == "2,3\u00a0Mo"
    with pytest.raises(ValueError):
        french.datetime(datetime(2026, 11, 22, 13, 30))


# -- verification ------------------------------------------------------------------------------


def test_verification_codes_are_short_unambiguous_and_distinct() -> None:
    codes = {new_verification_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch(rf"[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}", code)
        assert not set(code) & set("ILOU")
    assert normalize_code("7k2qm x9d4r") == "7K2QM-X9D4R"
    assert normalize_code("ABCDE-I2345") == "ABCDE-12345"  # I read as 1
    assert normalize_code("too short") is None


@pytest.fixture(scope="module")
def issued() -> Iterator[tuple[bytes, str]]:
    code = new_verification_code()
    yield build_report(minimal_report(verification_code=code)), code


def test_code_is_read_back_from_an_issued_pdf(issued: tuple[bytes, str]) -> None:
    pdf, code = issued
    assert read_verification_code(pdf) == code


def test_code_is_read_from_the_footer_when_metadata_is_stripped(
    issued: tuple[bytes, str],
) -> None:
    from pypdf import PdfWriter

    pdf, code = issued
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({"/Keywords": "", "/Title": "Edited"})
    out = io.BytesIO()
    writer.write(out)
    assert read_verification_code(out.getvalue()) == code


def test_authentic_modified_and_unknown_pdfs_are_told_apart(issued: tuple[bytes, str]) -> None:
    pdf, code = issued
    store = {code: {sha256(pdf)}}

    def issued_hashes(found: str) -> set[str]:
        return store.get(found, set())

    assert check_pdf(pdf, issued_hashes).verdict is Verdict.AUTHENTIC
    # One byte changed inside a page stream: same code, another hash.
    tampered = bytearray(pdf)
    position = pdf.index(b"stream") + 40
    tampered[position] ^= 0x01
    assert sha256(bytes(tampered)) != sha256(pdf)
    result = check_pdf(bytes(tampered), issued_hashes)
    assert result.verdict is Verdict.MODIFIED and result.code == code
    other = build_report(minimal_report(verification_code="ZZZZZ-99999"))
    assert check_pdf(other, issued_hashes).verdict is Verdict.UNKNOWN
    assert check_pdf(b"%PDF-1.4 garbage", issued_hashes).verdict is Verdict.UNKNOWN
    assert check_pdf(b"hello", issued_hashes).verdict is Verdict.UNKNOWN


def test_emoji_and_stray_characters_typed_in_chat_do_not_print_as_boxes() -> None:
    remarks = "Client ravi 👍🏻\r\nÀ revoir\tdans un an 🔧\u0007. Cafe\u0301 offert."
    pdf = build_report(minimal_report(sections=Sections(remarks=remarks)))
    text = pdf_text(pdf)
    assert "Client ravi\nÀ revoir dans un an. Café offert." in text
    assert "👍" not in text and "🔧" not in text


def test_outcome_and_client_details_are_printed() -> None:
    pdf = build_report(
        minimal_report(
            client=Client(
                name="Hôtel du Parc",
                contact="Łukasz Wiśniewski",
                address="3 place Bellecour, 69002 Lyon",
                phone="04 72 00 00 00",
                email="technique@hotel-du-parc.example",
            ),
            sections=Sections(outcome=Outcome.NO, outcome_comment="Pièce à commander."),
            acceptance=Acceptance(signer_name="Łukasz Wiśniewski"),
        )
    )
    text = flat(pdf_text(pdf))
    assert "Łukasz Wiśniewski" in text
    assert "Objectifs atteints : non" in text
    assert "Le client accepte les travaux sans réserve." in text
    assert "technique@hotel-du-parc.example" in text
