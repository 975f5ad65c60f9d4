"""A realistic sample report, invented from end to end, and pictures to go with it.

`python -m reports sample` renders it so a company can preview the layout (with its
own photos: `--photos-from DIR`); the benchmark and the tests use the same data.
The pictures are drawn with Pillow (a boiler, pipes, a gauge, a label) over a
gradient, with camera-like noise so that their JPEG sizes are those of real photos.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

from reports.data import (
    Acceptance,
    Attachment,
    ChecklistItem,
    Client,
    Company,
    DistanceTravel,
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
    VoiceNote,
)
from reports.fonts import font_files

TELEGRAM_SIZE = (1280, 960)
"""What Telegram keeps of a photo sent as a photo (long side 1280 px)."""
CAMERA_SIZE = (4000, 3000)
"""A 12-megapixel phone camera original."""
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png")

# The sample intervention happens on 22 November 2026 in Lyon (UTC+1).
_START = datetime(2026, 11, 22, 8, 5, tzinfo=UTC)

_TEXT: dict[Language, dict[str, str]] = {
    "fr": {
        "kind": "Maintenance",
        "template": "Entretien annuel chaudière gaz",
        "context": (
            "Entretien annuel obligatoire de la chaudière gaz murale du fournil "
            "(Saunier Duval ThemaPlus, mise en service en 2014). Le client signale des "
            "mises en sécurité répétées le matin, au moment où les deux fours démarrent."
        ),
        "objective": (
            "Réaliser l'entretien réglementaire (décret n° 2009-649), contrôler la "
            "combustion et trouver la cause des mises en sécurité."
        ),
        "methods": (
            "Analyseur de combustion Testo 310 (étalonné le 03/09/2026), manomètre "
            "différentiel, détecteur de fuites de gaz, caméra thermique, aspirateur à cendres."
        ),
        "work_done": (
            "Démontage et nettoyage du brûleur et de l'échangeur primaire — dépôts importants "
            "côté fumées. Remplacement du joint de chambre de combustion et de l'électrode "
            "d'allumage (usée, écartement hors tolérance). Contrôle de l'étanchéité du "
            "circuit gaz : aucune fuite. Remise en pression du circuit (1,4 bar) et "
            "regonflage du vase d'expansion à 1 bar.\n"
            "Analyse de combustion après intervention : CO 38 ppm, CO₂ 9,1 %, rendement 93,8 %."
        ),
        "outcome_comment": (
            "La chaudière fonctionne sans mise en sécurité pendant 45 minutes avec les deux "
            "fours en marche. Le tirage reste à surveiller (voir remarques)."
        ),
        "remarks": (
            "1. Le conduit de fumée n'a pas été ramoné depuis plus de deux ans : un ramonage "
            "par une entreprise qualifiée est obligatoire et doit être fait avant la fin de "
            "l'année. Le tirage mesuré (−8 Pa) est à la limite basse ; il explique en partie "
            "les mises en sécurité quand les fours et l'extracteur de la hotte tournent en "
            "même temps, car la pièce se met en dépression.\n\n"
            "2. Nous recommandons de créer une entrée d'air frais dans le fournil "
            "(grille de 100 cm² au minimum, en partie basse), conformément à la réglementation "
            "sur la ventilation des locaux contenant un appareil à gaz. Sans elle, le problème "
            "reviendra dès que l'extracteur sera remplacé par un modèle plus puissant.\n\n"
            "3. Le vase d'expansion a perdu sa pression d'azote ; il a été regonflé, mais sa "
            "membrane a quatorze ans. Prévoir son remplacement lors du prochain entretien, "
            "ou avant si la pression du circuit chute de nouveau sous 1 bar (l'aiguille du "
            "manomètre en façade doit rester dans la zone verte).\n\n"
            "4. Le calorifugeage des tuyauteries dans le cellier est abîmé sur environ trois "
            "mètres : une partie de la chaleur est perdue et les tuyaux risquent de geler en "
            "cas de grand froid. Un devis séparé vous sera envoyé.\n\n"
            "5. Le thermostat d'ambiance fonctionne sur piles ; elles ont été changées. "
            "Les réglages (19\u00a0°C le jour, 16\u00a0°C la nuit) ont été vérifiés avec "
            "Mme Martin.\n\n"
            "6. Conseil d'utilisation : ne pas couper l'alimentation électrique de la "
            "chaudière l'été, pour que la pompe tourne quelques secondes chaque jour et ne "
            "se grippe pas. En cas de nouvelle mise en sécurité, noter le code affiché "
            "avant de réarmer et nous appeler au numéro ci-dessus.\n\n"
            "7. Prochain entretien conseillé : novembre 2027. Nous vous enverrons un rappel "
            "un mois avant."
        ),
        "payment_terms": (
            "Paiement à 30 jours à réception de facture, par virement ou chèque. Pénalités de "
            "retard : trois fois le taux d'intérêt légal ; indemnité forfaitaire pour frais "
            "de recouvrement : 40 €."
        ),
        "reservations": (
            "Le thermostat d'ambiance affiche encore une erreur par moments ; à revoir lors "
            "du ramonage."
        ),
    },
    "en": {
        "kind": "Maintenance",
        "template": "Annual gas boiler service",
        "context": (
            "Mandatory annual service of the bakehouse's wall-mounted gas boiler "
            "(Saunier Duval ThemaPlus, installed in 2014). The client reports repeated "
            "safety lockouts in the morning, when both ovens start."
        ),
        "objective": (
            "Carry out the regulatory service, check combustion and find the cause of the lockouts."
        ),
        "methods": (
            "Testo 310 flue gas analyser (calibrated on 3 Sep 2026), differential pressure "
            "gauge, gas leak detector, thermal camera, ash vacuum."
        ),
        "work_done": (
            "Burner and primary heat exchanger removed and cleaned — heavy deposits on the "
            "flue side. Combustion chamber seal and ignition electrode replaced (worn, gap "
            "out of tolerance). Gas circuit tightness checked: no leak. Circuit "
            "repressurised (1.4 bar) and expansion vessel reinflated to 1 bar.\n"
            "Combustion analysis after the work: CO 38 ppm, CO₂ 9.1%, efficiency 93.8%."
        ),
        "outcome_comment": (
            "The boiler ran for 45 minutes without a lockout with both ovens on. The "
            "chimney draught still needs watching (see remarks)."
        ),
        "remarks": (
            "1. The flue has not been swept for more than two years: sweeping by a qualified "
            "company is mandatory and must be done before the end of the year. The measured "
            "draught (−8 Pa) is at the low limit; it partly explains the lockouts when the "
            "ovens and the hood extractor run together, as the room goes under negative "
            "pressure.\n\n"
            "2. We recommend adding a fresh-air inlet in the bakehouse (a grille of at least "
            "100 cm², low on the wall), as the rules on rooms with a gas appliance require. "
            "Without it the problem will come back as soon as the extractor is replaced by "
            "a more powerful one.\n\n"
            "3. The expansion vessel had lost its nitrogen charge; it was reinflated, but its "
            "membrane is fourteen years old. Plan its replacement at the next service, or "
            "sooner if the circuit pressure drops below 1 bar again (the needle of the gauge "
            "on the front must stay in the green zone).\n\n"
            "4. The pipe insulation in the storeroom is damaged over about three metres: heat "
            "is lost and the pipes may freeze in very cold weather. A separate quote will be "
            "sent to you.\n\n"
            "5. The room thermostat runs on batteries; they were replaced. The settings "
            "(19\u00a0°C by day, 16\u00a0°C at night) were checked with Mrs Martin.\n\n"
            "6. Advice: do not switch the boiler off at the mains in summer, so that the pump "
            "turns for a few seconds every day and does not seize. If the boiler locks out "
            "again, write down the code it shows before resetting it and call us.\n\n"
            "7. Next service advised: November 2027. We will send you a reminder a month "
            "before."
        ),
        "payment_terms": (
            "Payment within 30 days of the invoice, by bank transfer or cheque. Late payment "
            "interest: three times the legal rate; fixed recovery fee: €40."
        ),
        "reservations": (
            "The room thermostat still shows an error now and then; to be checked again "
            "when the flue is swept."
        ),
    },
}

_CHECKLIST: dict[Language, list[tuple[str, bool, str]]] = {
    "fr": [
        ("Coupure du gaz et de l'électricité avant démontage", True, ""),
        ("Nettoyage du brûleur et de l'échangeur", True, "Dépôts importants côté fumées"),
        ("Contrôle de l'étanchéité du circuit gaz", True, "Aucune fuite"),
        ("Vérification des organes de sécurité", True, ""),
        ("Analyse de combustion (CO, CO₂, rendement)", True, "CO 38 ppm"),
        ("Ramonage du conduit de fumée", False, "Hors contrat : entreprise qualifiée"),
        ("Remplacement du vase d'expansion", False, "À prévoir"),
    ],
    "en": [
        ("Gas and power cut off before dismantling", True, ""),
        ("Burner and heat exchanger cleaned", True, "Heavy deposits on the flue side"),
        ("Gas circuit tightness test", True, "No leak"),
        ("Safety devices checked", True, ""),
        ("Combustion analysis (CO, CO₂, efficiency)", True, "CO 38 ppm"),
        ("Flue sweeping", False, "Not in contract: qualified company"),
        ("Expansion vessel replacement", False, "To be planned"),
    ],
}

_PARTS: dict[Language, list[tuple[str, str, str, str]]] = {
    "fr": [
        (
            "SD-0020-1184",
            "Joint de chambre de combustion — silicone haute température",
            "1",
            "18.40",
        ),
        ("SD-S1079400", "Électrode d'allumage et d'ionisation", "1", "42.90"),
        ("NET-CŒUR-500", "Nettoyant pour cœur d'échangeur, flacon 500 mL", "0.5", "23.75"),
        ("PIL-LR6", "Piles alcalines LR6 pour thermostat (lot de 4)", "1", "6.20"),
        ("CAL-22-13", "Manchon isolant Ø 22 mm, ép. 13 mm (le mètre)", "2.5", "3.85"),
    ],
    "en": [
        ("SD-0020-1184", "Combustion chamber seal — high-temperature silicone", "1", "18.40"),
        ("SD-S1079400", "Ignition and ionisation electrode", "1", "42.90"),
        ("NET-CŒUR-500", "Heat exchanger cleaner, 500 mL bottle", "0.5", "23.75"),
        ("PIL-LR6", "LR6 alkaline batteries for the thermostat (pack of 4)", "1", "6.20"),
        ("CAL-22-13", "Pipe insulation Ø 22 mm, 13 mm thick (per metre)", "2.5", "3.85"),
    ],
}

_CAPTIONS: dict[Language, list[str]] = {
    "fr": [
        "Plaque signalétique de la chaudière",
        "Échangeur encrassé avant nettoyage",
        "Brûleur démonté",
        "Électrode d'allumage usée",
        "Échangeur après nettoyage",
        "Analyse de combustion : CO 38 ppm",
        "Manomètre du circuit à 1,4 bar",
        "Calorifugeage abîmé dans le cellier — environ trois mètres à reprendre",
        "Sortie du conduit de fumée en toiture",
        "Vase d'expansion (2012)",
    ],
    "en": [
        "Boiler rating plate",
        "Fouled heat exchanger before cleaning",
        "Burner removed",
        "Worn ignition electrode",
        "Heat exchanger after cleaning",
        "Combustion analysis: CO 38 ppm",
        "Circuit gauge at 1.4 bar",
        "Damaged pipe insulation in the storeroom — about three metres to redo",
        "Flue outlet on the roof",
        "Expansion vessel (2012)",
    ],
}


def sample_report(
    language: Language = "fr",
    photos: Sequence[Photo] = (),
    *,
    verification_code: str = "7K2QM-X9D4R",
) -> ReportData:
    """The sample report: a boiler service for Boulangerie Martin, in `language`."""
    text = _TEXT[language]
    return ReportData(
        company=Company(
            name="Thermique Dupont & Fils",
            address="12 rue des Tanneurs, 69007 Lyon",
            phone="04 78 12 34 56",
            email="contact@thermique-dupont.example",
            siret="812 345 678 00024",
            vat_number="FR27 812345678",
            logo=sample_logo(),
        ),
        client=Client(
            name="Boulangerie Martin",
            contact="Élodie Martin",
            address="48 avenue Félix-Faure, 69003 Lyon",
            phone="06 12 34 56 78",
            email="elodie.martin@boulangerie-martin.example",
        ),
        intervention=Intervention(
            number="OT-2026-0042",
            kind=text["kind"],
            template=text["template"],
            technician="Nguyễn Văn An",
            scheduled_at=_START - timedelta(minutes=5),
            started_at=_START,
            ended_at=_START + timedelta(hours=2, minutes=40),
            site_address="Fournil, 48 avenue Félix-Faure (entrée par la cour), 69003 Lyon",
            location=Location(45.75498, 4.86231, 12),
        ),
        sections=Sections(
            context=text["context"],
            objective=text["objective"],
            methods=text["methods"],
            checklist=tuple(
                ChecklistItem(label, checked, note) for label, checked, note in _CHECKLIST[language]
            ),
            work_done=text["work_done"],
            outcome=Outcome.PARTLY,
            outcome_comment=text["outcome_comment"],
            remarks=text["remarks"],
        ),
        parts=tuple(
            PartLine(reference, designation, Decimal(quantity), Decimal(price))
            for reference, designation, quantity, price in _PARTS[language]
        ),
        pricing=Pricing(
            hours=Decimal("2.5"),
            labour_rate=Decimal("62.00"),
            travel=DistanceTravel(Decimal("18"), Decimal("0.65")),
            vat_rate=Decimal("0.10"),
            payment_terms=text["payment_terms"],
        ),
        acceptance=Acceptance(
            signer_name="Élodie Martin",
            with_reservations=True,
            reservations=text["reservations"],
            signature=sample_signature(seed=7),
            signed_at=_START + timedelta(hours=2, minutes=45),
            signed_on="screen",
        ),
        technician_signature=sample_signature(seed=3),
        technician_signed_at=_START - timedelta(days=12, hours=3),
        technician_signed_on="paper",
        photos=tuple(photos),
        attachments=(
            Attachment("rapport-analyse-combustion.pdf", "application/pdf", 184_320),
            Attachment("notice-thermostat.pdf", "application/pdf", 2_457_600),
        ),
        voice_notes=(
            VoiceNote("work_done", 42, _START + timedelta(hours=1, minutes=20)),
            VoiceNote("remarks", 75, _START + timedelta(hours=2, minutes=30)),
        ),
        language=language,
        timezone="Europe/Paris",
        verification_code=verification_code,
        client_link="https://t.me/TerrainDemoBot?start=r-7K2QMX9D4R",
        issued_at=_START + timedelta(hours=3),
    )


def sample_photos(
    count: int,
    language: Language = "fr",
    *,
    size: tuple[int, int] = TELEGRAM_SIZE,
    originals: Sequence[Path] = (),
) -> list[Photo]:
    """`count` photos for the annex: generated ones, or the files `originals` in turn.

    Generated photos are drawn when the report asks for them (the loader), as the
    bot's file store would read them from disk.
    """
    captions = _CAPTIONS[language]
    photos = []
    for index in range(count):
        loader: Callable[[], bytes]
        if originals:
            path = originals[index % len(originals)]
            loader = path.read_bytes
            key = hashlib.sha256(f"{path.resolve()}:{path.stat().st_mtime_ns}".encode()).hexdigest()
        else:
            loader = _drawing(index, size)
            key = hashlib.sha256(f"sample-{index}-{size[0]}x{size[1]}".encode()).hexdigest()
        photos.append(
            Photo(
                key=key,
                source=loader,
                caption=captions[index % len(captions)],
                tag=PhotoTag.BEFORE if index < count // 2 else PhotoTag.AFTER,
                received_at=_START + timedelta(minutes=7 + 6 * index),
            )
        )
    return photos


def photo_files(folder: Path) -> list[Path]:
    """The JPEG and PNG files of `folder`, by name."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in PHOTO_EXTENSIONS
    )


def _drawing(index: int, size: tuple[int, int]) -> Callable[[], bytes]:
    def load() -> bytes:
        return make_photo(index, size)

    return load


def make_photo(index: int, size: tuple[int, int] = TELEGRAM_SIZE, *, exif: bool = False) -> bytes:
    """A JPEG that looks like a site photo: a boiler with pipes and a gauge, with noise.

    With `exif`, it carries what a phone camera writes (make, model, date and a GPS
    position), so tests can check that none of it reaches a PDF.
    """
    rng = random.Random(index)
    width, height = size
    unit = width / 1280
    top = (rng.randrange(150, 230), rng.randrange(150, 220), rng.randrange(130, 200))
    bottom = (rng.randrange(60, 120), rng.randrange(50, 110), rng.randrange(40, 100))
    # A vertical gradient: a 1-pixel-wide column stretched over the width.
    column = Image.new("RGB", (1, 256))
    column.putdata(
        [
            tuple(t + (b - t) * y // 255 for t, b in zip(top, bottom, strict=True))
            for y in range(256)
        ]
    )
    image = column.resize(size, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    # The boiler: a white casing with a dark panel and a gauge.
    left = int(width * rng.uniform(0.2, 0.4))
    upper = int(height * 0.12)
    right, lower = left + int(420 * unit), upper + int(600 * unit)
    draw.rounded_rectangle((left, upper, right, lower), radius=int(18 * unit), fill=(236, 234, 228))
    draw.rectangle(
        (left + 40 * unit, lower - 150 * unit, right - 40 * unit, lower - 60 * unit),
        fill=(60, 64, 70),
    )
    gauge = (right - 140 * unit, lower - 140 * unit, right - 70 * unit, lower - 70 * unit)
    draw.ellipse(gauge, fill=(250, 250, 250), outline=(20, 20, 20), width=max(1, int(3 * unit)))
    draw.line(
        (
            (gauge[0] + gauge[2]) / 2,
            (gauge[1] + gauge[3]) / 2,
            gauge[2] - 10 * unit,
            gauge[1] + 12 * unit,
        ),
        fill=(200, 30, 30),
        width=max(1, int(4 * unit)),
    )
    # Copper pipes going down from the boiler.
    for pipe in range(4):
        x = left + (70 + pipe * 90) * unit
        draw.rectangle((x, lower, x + 26 * unit, height), fill=(184, 115, 51))
    # A label with the photo's number, as a technician's marker would write.
    font = ImageFont.truetype(str(font_files()["B"]), size=max(12, int(54 * unit)))
    draw.rectangle(
        (width - 230 * unit, 30 * unit, width - 30 * unit, 110 * unit), fill=(255, 221, 0)
    )
    draw.text((width - 205 * unit, 42 * unit), f"#{index + 1:02d}", fill=(0, 0, 0), font=font)
    # Camera grain (drawn at half resolution, as a sensor's noise is not one pixel
    # wide): without it the JPEG of a drawing is unrealistically small. Calibrated on
    # phone photos: about 250 KB at 1280 px, about 4 MB at 12 megapixels.
    grain = Image.effect_noise((max(1, width // 2), max(1, height // 2)), 24)
    noise = grain.resize(size, Image.Resampling.BILINEAR).convert("RGB")
    image = ImageChops.add(image, noise, scale=1.0, offset=-128)
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "Samsung"  # Make
        tags[0x0110] = "Galaxy A54"  # Model
        tags[0x0132] = "2026:11:22 09:12:00"  # DateTime
        gps = tags.get_ifd(0x8825)
        gps[1], gps[2] = "N", (45.0, 45.0, 17.9)  # latitude 45°45'17.9"N
        gps[3], gps[4] = "E", (4.0, 51.0, 44.3)  # longitude 4°51'44.3"E
        image.save(out, format="JPEG", quality=92, exif=tags)
    else:
        image.save(out, format="JPEG", quality=85 if max(size) <= 1280 else 92)
    return out.getvalue()


def sample_logo() -> bytes:
    """A small company logo: a flame in a circle, as a transparent PNG."""
    image = Image.new("RGBA", (320, 320), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 312, 312), fill=(24, 72, 122, 255))
    draw.polygon(
        [(160, 50), (225, 165), (205, 250), (160, 275), (115, 250), (95, 165)],
        fill=(255, 140, 0, 255),
    )
    draw.polygon([(160, 140), (190, 205), (160, 250), (130, 205)], fill=(255, 221, 0, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def sample_signature(seed: int) -> bytes:
    """A handwritten-looking scribble, black on a transparent background (PNG)."""
    rng = random.Random(seed)
    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    x, y = 30.0, 120.0
    points = [(x, y)]
    for _ in range(28):
        x += rng.uniform(12, 24)
        y = min(180.0, max(20.0, y + rng.uniform(-45, 45)))
        points.append((x, y))
    draw.line(points, fill=(10, 20, 60, 255), width=5, joint="curve")
    draw.line([(40, 160), (x - 20, 150)], fill=(10, 20, 60, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
