"""End to end: a technician fills in a whole report through `python -m bot`.

The bot runs as a real process against the local `FakeBotAPI` (test_e2e.py says
how it is started, stopped, and how its log is shown when an assertion fails).
The technician is registered with `python -m bot users add`; the client and the
planned intervention are written with the project's own storage code into the
same SQLite file. From then on everything goes through the chat: /today, the
card, Start, the location pin, every section of the maintenance template, photos
one by one and as an album, the acceptance with both signatures, and the
submission. The PDF that reaches the office and the technician is read back.

The last test kills the bot with SIGKILL in the middle of a burst of photos and
checks that after a restart every photo is stored exactly once and the wizard
goes on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import random
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from storage import interventions, users
from storage.db import Database
from storage.models import Client
from tests.fakeapi import FakeBotAPI, FakeUser, Recorded, inline_buttons
from tests.helpers import pdf_text
from tests.test_e2e import Deployment, button, shows_bot_log

OFFICE_CHAT = -100777
#: A step is answered in well under a second; a busy 2-core machine may need more.
STEP_TIMEOUT = 30.0
#: Submitting renders the PDF (photos prepared, signatures, fonts) before answering.
SUBMIT_TIMEOUT = 60.0
#: The photo confirmation waits 2 s for more photos of the same burst before leaving.
CONFIRMATION_TIMEOUT = 30.0
STEPS = 13  # the maintenance template: 10 sections, then review, acceptance, submit
#: How the bot shows something to read: a new message (a picture with its caption, a
#: file), or the message pressed edited into the next question.
SHOWN = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageCaption")

PAUL = FakeUser(610_001, "Paul", username="paul_tech", language_code="fr")
JANE = FakeUser(610_002, "Jane", username="jane_tech", language_code="en")
LUC = FakeUser(610_003, "Luc", username="luc_tech", language_code="fr")


@pytest.fixture
def deployment_env() -> dict[str, str]:
    return {"OFFICE_CHAT_ID": str(OFFICE_CHAT)}


# Pictures ----------------------------------------------------------------------


def noisy_jpeg(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A small photo of coloured noise: every seed gives different bytes."""
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def signature_photo(seed: int) -> bytes:
    """A dark scribble on light, slightly uneven paper, photographed."""
    rng = random.Random(seed)
    image = Image.new("RGB", (640, 400), (236, 232, 224))
    draw = ImageDraw.Draw(image)
    for _ in range(400):  # the grain of the paper
        x, y = rng.randrange(640), rng.randrange(400)
        draw.point((x, y), fill=(222, 218, 210))
    points = [(80 + x * 5, 200 + rng.randint(-70, 70)) for x in range(96)]
    draw.line(points, fill=(20, 24, 70), width=5)
    draw.line([(90, 300), (560, 290)], fill=(20, 24, 70), width=4)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


# Setting the scene ------------------------------------------------------------


async def register_with_cli(deployment: Deployment, person: FakeUser, role: str, name: str) -> str:
    """`python -m bot users add`, as an operator would (it also migrates the schema):
    what it printed."""
    code, out, err = await deployment.cli(
        "users", "add", "--telegram-id", str(person.id), "--role", role, "--name", name
    )
    assert code == 0, f"users add exited {code}\n{out}\n{err}"
    return out


async def register_technician(deployment: Deployment, person: FakeUser, name: str) -> None:
    out = await register_with_cli(deployment, person, "technician", name)
    assert "registered as technician" in out, out


async def plan_intervention(
    deployment: Deployment,
    person: FakeUser,
    *,
    client_name: str,
    contact: str,
    language: str | None = None,
    template: str = "maintenance",
) -> str:
    """A client and an intervention of `template` (a maintenance) planned for today,
    assigned to `person`, written with the project's storage code; its number."""
    db = Database(f"sqlite+aiosqlite:///{deployment.db_path}")
    try:
        async with db.transaction() as session:
            technician = await users.by_telegram_id(session, person.id)
            assert technician is not None, "the technician is not registered"
            client = Client(
                name=client_name,
                contact_name=contact,
                phone="01 23 45 67 89",
                address="12 rue de la Paix, 75002 Paris",
                language=language,
            )
            session.add(client)
            await session.flush()
            now = dt.datetime.now(dt.UTC)
            job = await interventions.create(
                session,
                year=now.year,
                client_id=client.id,
                kind=template,
                template=template,
                technician=technician,
                scheduled_at=now,
                request="Entretien annuel de la chaudière.",
            )
            return job.number
    finally:
        await db.close()


# The technician's side of the chat ----------------------------------------------


class Chat:
    """One person talking to the bot: what they send, and the bot's answers read in
    the order they came (each `expect` looks only after the previous one)."""

    def __init__(self, deployment: Deployment, person: FakeUser) -> None:
        self.deployment = deployment
        self.api = deployment.api
        self.person = person
        self.cursor = 0  # index in api.requests after the last answer expected

    def mark(self) -> int:
        """The current position in the fake's record, to look for answers after it."""
        return len(self.api.requests)

    def answers(
        self, containing: str = "", *, method: str = "sendMessage", after: int = 0
    ) -> list[Recorded]:
        """Successful `method` calls to this chat since `after` whose text contains..."""
        return [
            record
            for record in self.api.requests[after:]
            if record.ok
            and record.method == method
            and str(record.chat_id) == str(self.person.id)
            and containing in (record.text or "")
        ]

    async def expect(
        self, containing: str, *, method: str | None = None, timeout: float = STEP_TIMEOUT
    ) -> Recorded:
        """The next `method` (by default, anything SHOWN) to this chat whose text
        contains `containing`."""
        methods = SHOWN if method is None else (method,)

        def found() -> tuple[int, Recorded] | None:
            requests = self.api.requests
            for index in range(self.cursor, len(requests)):
                record = requests[index]
                if (
                    record.ok
                    and record.method in methods
                    and str(record.chat_id) == str(self.person.id)
                    and containing in (record.text or "")
                ):
                    return index + 1, record
            return None

        what = f"{' or '.join(methods)} to {self.person.first_name}: {containing!r}"
        where = await self.deployment.until(found, timeout=timeout, what=what)
        assert where is not None  # until() returns only a truthy value
        self.cursor, record = where
        return record

    def say(self, text: str) -> None:
        self.api.send_text(self.person, text)

    def press(self, message: Recorded, label: str) -> None:
        self.api.press_button(self.person, message, button(message, label))

    def photo(self, data: bytes, caption: str | None = None, album: str | None = None) -> None:
        self.api.send_photo(self.person, data, caption=caption, media_group_id=album)


def french_step(number: int, title: str) -> str:
    return f"Étape {number}/{STEPS} · {title}"


def english_step(number: int, title: str) -> str:
    return f"Step {number}/{STEPS} · {title}"


# What comes out ------------------------------------------------------------------


def pdf_sent_to(api: FakeBotAPI, chat_id: int) -> list[bytes]:
    """The PDF files uploaded with sendDocument to `chat_id`."""
    found = []
    for record in api.sent("sendDocument", chat_id):
        upload = record.upload("document")
        if upload is not None and upload.data.startswith(b"%PDF"):
            found.append(upload.data)
    return found


def pdf_images(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def amount_after(text: str, label: str) -> str:
    """The amount printed after `label` on its line ("Total TTC : 65,40 €" -> "65,40 €")."""
    for line in plain(text).splitlines():
        if line.startswith(label):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no line {label!r} in {text!r}")


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def stop_when_everything_is_sent(deployment: Deployment) -> None:
    """SIGTERM once the outbox has recorded every delivery as sent: a delivery still
    on its way when the bot is stopped would be sent again at the next start (see
    test_a_message_on_its_way_at_sigterm_is_not_sent_again_after_a_restart)."""
    await deployment.until(
        lambda: not deployment.query("SELECT id FROM deliveries WHERE state = 'pending'"),
        timeout=STEP_TIMEOUT,
        what="every delivery marked sent",
    )
    await deployment.bot.stop_cleanly()


def assert_nothing_went_wrong(deployment: Deployment) -> None:
    """Every update handled, every delivery sent, no Bot API call refused."""
    updates = deployment.query("SELECT update_id, state, error FROM inbox_updates")
    assert all(state == "done" for _, state, _ in updates), updates
    deliveries = deployment.query("SELECT id, state, last_error FROM deliveries")
    assert all(state == "sent" for _, state, _ in deliveries), deliveries
    refused = [
        r.summary()
        for r in deployment.api.requests
        if r.answered and not r.ok and r.method != "getUpdates"
    ]
    assert not refused, f"Bot API calls refused: {refused}"


# 1. The whole report, in French -------------------------------------------------


@pytest.mark.e2e
@shows_bot_log
async def test_a_technician_goes_from_today_to_a_submitted_report(
    api: FakeBotAPI, deployment: Deployment, tmp_path: Path
) -> None:
    started = time.monotonic()
    await register_technician(deployment, PAUL, "Paul Lefèvre")
    number = await plan_intervention(
        deployment, PAUL, client_name="Boulangerie Martin", contact="Mme Martin"
    )
    await deployment.bot.start(api)
    ready = time.monotonic()
    chat = Chat(deployment, PAUL)

    # Getting there: /today, the card, Start, the location pin.
    chat.say("/today")
    listing = await chat.expect("Vos interventions du jour")
    assert number in (listing.text or "") and "Boulangerie Martin" in (listing.text or "")
    chat.press(listing, number)
    card = await chat.expect("Première intervention chez ce client")
    assert "Boulangerie Martin" in (card.text or "") and "12 rue de la Paix" in (card.text or "")
    chat.press(card, "Commencer")
    await chat.expect(f"{number} commencée")
    await chat.expect(french_step(1, "Contexte"))
    api.send_location(PAUL, 48.8686, 2.3319, horizontal_accuracy=12.0)
    located = await chat.expect("Position enregistrée")
    assert "précision 12 m" in (located.text or ""), located.text

    # Context (its question, above, is not asked again after the pin), objective.
    chat.say("Bruit anormal au démarrage de la chaudière, signalé par le client.")
    await chat.expect(french_step(2, "Objectif"))
    chat.say("Entretien annuel et suppression du bruit.")

    # Methods: two items ticked (the same message redrawn), then Next.
    methods = await chat.expect(french_step(3, "Méthodes et matériel"))
    chat.press(methods, "Consignation")
    await chat.expect("", method="editMessageText")
    chat.press(methods, "Nettoyage des filtres")
    redrawn = await chat.expect("", method="editMessageText")
    labels = [b["text"] for b in inline_buttons(redrawn.result)]
    assert sum(label.startswith("✅") for label in labels) == 2, labels
    chat.press(methods, "Suivant")

    # Work done, then one part typed on one line, then Done.
    await chat.expect(french_step(4, "Travaux réalisés"))
    chat.say("Filtre à air remplacé, brûleur nettoyé, combustion réglée.")
    await chat.expect(french_step(5, "Pièces"))
    chat.say("FLT-200; Filtre à air G4; 2; 14,50")
    parts = await chat.expect("Ajoutée : FLT-200 · Filtre à air G4")
    assert "Total pièces HT : 29,00 €" in plain(parts.text or ""), parts.text
    chat.press(parts, "Terminé")

    # Photos: one with a caption, then an album of three, then Done.
    await chat.expect(french_step(6, "Photos"))
    chat.photo(noisy_jpeg(1), caption="Filtre encrassé avant remplacement")
    single = await chat.expect("1 photo enregistrée", timeout=CONFIRMATION_TIMEOUT)
    assert "Au total : 1 photo," in (single.text or ""), single.text
    album_pushed = chat.mark()
    for seed in (2, 3, 4):
        chat.photo(noisy_jpeg(seed), album="album-1")
    album = await chat.expect("3 photos enregistrées", timeout=CONFIRMATION_TIMEOUT)
    assert "Au total : 4 photos," in (album.text or ""), album.text
    chat.press(album, "Terminé (4)")
    results = await chat.expect(french_step(7, "Résultats"))
    confirmations = chat.answers("enregistrée", after=album_pushed)
    assert [c.text for c in confirmations] == [album.text], "the album gave several confirmations"
    # Each photo was fetched once, in its largest size.
    largest = [
        u["message"]["photo"][-1]["file_id"] for u in api.updates if "photo" in u.get("message", {})
    ]
    assert [r.params["file_id"] for r in api.sent("getFile")] == largest
    assert len(api.sent("downloadFile")) == 4

    # Results, remarks.
    chat.press(results, "Oui")
    await chat.expect("Un commentaire sur le résultat")
    chat.say("Bruit disparu, combustion conforme.")
    await chat.expect(french_step(8, "Remarques"))
    chat.say("Prévoir le remplacement du vase d'expansion l'an prochain.")

    # Times: end now, the hours it gives, the flat travel fee.
    end = await chat.expect(french_step(9, "Heures"))
    chat.press(end, "Maintenant")
    hours = await chat.expect("Temps travaillé")
    chat.press(hours, "C'est juste")
    travel = await chat.expect("Déplacement : forfait")
    chat.press(travel, "Forfait")

    # Pricing, review.
    pricing = await chat.expect(french_step(10, "Tarification"))
    summary = plain(pricing.text or "")
    assert "Pièces : 29,00 €" in summary and "Déplacement : 30,00 €" in summary, summary
    total_excl = amount_after(summary, "Total HT")
    total_incl = amount_after(summary, "Total TTC")
    chat.press(pricing, "Valider la tarification")
    review = await chat.expect(french_step(11, "Relecture"))
    assert "Filtre à air G4" in (review.text or "") and "4 photos" in (review.text or "")
    chat.press(review, "Continuer")

    # Acceptance: the name typed, reservations, the client's signature, then the
    # technician's own (their first one, so it is asked for).
    await chat.expect(french_step(12, "Réception des travaux"))
    chat.say("Claire Martin")
    reserve = await chat.expect("Réception par Claire Martin")
    chat.press(reserve, "Avec réserves")
    await chat.expect("Écrivez les réserves")
    chat.say("Peinture à reprendre autour du radiateur.")
    await chat.expect("Faites signer Claire Martin")
    chat.photo(signature_photo(1))
    # The cleaned signature is a picture, the question under it.
    check = await chat.expect("Signature nettoyée", method="sendPhoto")
    assert "La signature du client est-elle bien lisible" in (check.text or ""), check.text
    chat.press(check, "Oui, continuer")
    await chat.expect("Signez sur une feuille blanche")
    chat.photo(signature_photo(2))
    submit = await chat.expect("Votre signature, nettoyée", method="sendPhoto")

    # Submit: the question is under the technician's own signature.
    assert french_step(13, "Envoi") in (submit.text or ""), submit.text
    chat.press(submit, "Envoyer le rapport")
    await chat.expect("envoyé au bureau pour validation", timeout=SUBMIT_TIMEOUT)
    await deployment.until(
        lambda: pdf_sent_to(api, OFFICE_CHAT) and pdf_sent_to(api, PAUL.id),
        timeout=SUBMIT_TIMEOUT,
        what="the PDF sent to the office and to the technician",
    )
    submitted = time.monotonic()
    await stop_when_everything_is_sent(deployment)

    # The PDF, as the office and the technician got it.
    (office_pdf,) = pdf_sent_to(api, OFFICE_CHAT)
    (own_pdf,) = pdf_sent_to(api, PAUL.id)
    assert office_pdf == own_pdf
    office_caption = api.sent("sendDocument", OFFICE_CHAT)[-1].text or ""
    assert number in office_caption and "Paul Lefèvre" in office_caption, office_caption
    text = pdf_text(office_pdf)
    for expected in (
        number,
        "Boulangerie Martin",
        "Contexte",
        "Bruit anormal au démarrage",
        "Objectif",
        "Méthodes, outils et équipements",
        "Travaux réalisés",
        "Filtre à air remplacé",
        "Pièces et fournitures",
        "FLT-200",
        "Filtre à air G4",
        "Résultats",
        "Remarques et recommandations",
        "vase d'expansion",
        "Total HT",
        "Total TTC",
        total_excl,
        total_incl,
        "Réception des travaux",
        "Claire Martin",
        "Peinture à reprendre autour du radiateur",
        "Filtre encrassé avant remplacement",
    ):
        assert expected in text, f"{expected!r} is not in the PDF:\n{text}"
    images = pdf_images(office_pdf)
    assert images == 6, f"the PDF embeds {images} image(s): 4 photos and 2 signatures expected"

    # What was kept.
    (status,) = deployment.query("SELECT status FROM interventions WHERE number = ?", number)
    assert status == ("awaiting_validation",)
    rows = deployment.query(
        "SELECT a.kind, a.path, a.caption, a.file_unique_id FROM attachments a"
        " JOIN interventions i ON i.id = a.intervention_id WHERE i.number = ?",
        number,
    )
    photos_kept = [row for row in rows if row[0] == "photo"]
    assert len(photos_kept) == 4, rows
    assert len({row[3] for row in photos_kept}) == 4
    assert [row[2] for row in photos_kept if row[2]] == ["Filtre encrassé avant remplacement"]
    data_dir = tmp_path / "data"
    for kind, path, *_ in rows:
        assert (data_dir / path).is_file(), f"{kind} {path} is not under DATA_DIR"
    assert sum(kind == "report" for kind, *_ in rows) == 1
    located_at = deployment.query(
        "SELECT location_lat, location_accuracy FROM interventions WHERE number = ?", number
    )
    assert located_at == [(pytest.approx(48.8686), pytest.approx(12.0))]
    assert deployment.query(
        "SELECT p.reference, p.quantity, p.unit_price FROM parts p JOIN interventions i"
        " ON i.id = p.intervention_id WHERE i.number = ?",
        number,
    ) == [("FLT-200", pytest.approx(2), pytest.approx(14.5))]
    assert_nothing_went_wrong(deployment)
    print(
        f"\nfrench report: {number}, {len(office_pdf)} bytes,"
        f" {len(PdfReader(io.BytesIO(office_pdf)).pages)} page(s), {images} image(s);"
        f" totals {total_excl} HT / {total_incl} TTC;"
        f" {len(api.updates)} updates; start {ready - started:.1f} s,"
        f" chat {submitted - ready:.1f} s"
    )


# 2. The same, in English ----------------------------------------------------------


@pytest.mark.e2e
@shows_bot_log
async def test_the_report_flow_speaks_english(api: FakeBotAPI, deployment: Deployment) -> None:
    await register_technician(deployment, JANE, "Jane Doe")
    number = await plan_intervention(
        deployment, JANE, client_name="Harbour Hotel", contact="Mr Smith", language="en"
    )
    await deployment.bot.start(api)
    chat = Chat(deployment, JANE)

    chat.say("/today")
    listing = await chat.expect("Your interventions today")
    chat.press(listing, number)
    card = await chat.expect("First intervention at this client")
    chat.press(card, "Start")
    await chat.expect(f"{number} started at")

    # The optional sections are skipped; the required ones answered.
    context = await chat.expect(english_step(1, "Context"))
    chat.press(context, "Skip")
    objective = await chat.expect(english_step(2, "Objective"))
    chat.press(objective, "Skip")
    methods = await chat.expect(english_step(3, "Methods and equipment"))
    chat.press(methods, "Lock-out and power cut")
    await chat.expect("", method="editMessageText")
    chat.press(methods, "Next")
    await chat.expect(english_step(4, "Work done"))
    chat.say("Burner cleaned, combustion tuned.")
    parts = await chat.expect(english_step(5, "Parts"))
    assert "No parts yet" in (parts.text or "")
    chat.press(parts, "Skip")
    await chat.expect(english_step(6, "Photos"))
    chat.photo(noisy_jpeg(11), caption="Burner after cleaning")
    saved = await chat.expect("1 photo saved", timeout=CONFIRMATION_TIMEOUT)
    assert "In all: 1 photo," in (saved.text or "")
    chat.press(saved, "Done (1)")
    results = await chat.expect(english_step(7, "Results"))
    chat.press(results, "Yes")
    comment = await chat.expect("Any comment on the result")
    chat.press(comment, "No comment")
    remarks = await chat.expect(english_step(8, "Remarks"))
    chat.press(remarks, "Skip")
    end = await chat.expect(english_step(9, "Times"))
    chat.press(end, "Now")
    hours = await chat.expect("Time worked")
    chat.press(hours, "That's right")
    travel = await chat.expect("Travel: flat fee")
    chat.press(travel, "No travel")
    pricing = await chat.expect(english_step(10, "Pricing"))
    assert "Total incl. VAT" in (pricing.text or "")
    chat.press(pricing, "Confirm the pricing")
    review = await chat.expect(english_step(11, "Review"))
    chat.press(review, "Go on to the acceptance")

    acceptance = await chat.expect(english_step(12, "Acceptance of the work"))
    chat.press(acceptance, "Mr Smith")
    reserve = await chat.expect("Acceptance by Mr Smith")
    chat.press(reserve, "Without reservations")
    await chat.expect("Have Mr Smith sign on a blank sheet")
    chat.photo(signature_photo(3))
    check = await chat.expect("Cleaned signature", method="sendPhoto")
    assert "Is the client's signature readable" in (check.text or ""), check.text
    chat.press(check, "Yes, go on")
    await chat.expect("Sign on a blank sheet")
    chat.photo(signature_photo(4))
    submit = await chat.expect(english_step(13, "Submit"))
    chat.press(submit, "Send the report")
    await chat.expect(f"Report {number} sent to the office for validation", timeout=SUBMIT_TIMEOUT)
    await deployment.until(
        lambda: pdf_sent_to(api, JANE.id) and pdf_sent_to(api, OFFICE_CHAT),
        timeout=SUBMIT_TIMEOUT,
        what="the PDF sent to the technician and the office",
    )
    await stop_when_everything_is_sent(deployment)

    (pdf,) = pdf_sent_to(api, JANE.id)
    text = pdf_text(pdf)
    for expected in (
        "Intervention report",
        number,
        "Harbour Hotel",
        "Work done",
        "Burner cleaned",
        "Total incl. VAT",
        "The client accepts the work without reservations.",
        "Mr Smith",
    ):
        assert expected in text, f"{expected!r} is not in the PDF:\n{text}"
    assert pdf_images(pdf) == 3, "one photo and two signatures expected"
    french = [
        r.text for r in chat.answers() if r.text and ("Étape" in r.text or "Terminé" in r.text)
    ]
    assert not french, f"French sent to an English-speaking technician: {french}"
    assert deployment.query("SELECT status FROM interventions WHERE number = ?", number) == [
        ("awaiting_validation",)
    ]
    assert_nothing_went_wrong(deployment)


# 3. A kill in the middle of the photos ----------------------------------------------

ALBUM = 10
SINGLES = 2
KILL_AT_DOWNLOAD = 4


@pytest.mark.e2e
@shows_bot_log
async def test_a_kill_in_the_middle_of_the_photos_loses_nothing(
    api: FakeBotAPI, deployment: Deployment, tmp_path: Path
) -> None:
    """An album of 10 photos and 2 single photos arrive at once; the bot is killed
    with SIGKILL when the 4th file is being downloaded, then started again."""
    bot = deployment.bot
    await register_technician(deployment, LUC, "Luc Bernard")
    number = await plan_intervention(deployment, LUC, client_name="Garage Roux", contact="M. Roux")
    await bot.start(api)
    chat = Chat(deployment, LUC)

    chat.say("/today")
    listing = await chat.expect("Vos interventions du jour")
    chat.press(listing, number)
    card = await chat.expect("Première intervention chez ce client")
    chat.press(card, "Commencer")
    for step, title in enumerate(("Contexte", "Objectif"), start=1):
        prompt = await chat.expect(french_step(step, title))
        chat.press(prompt, "Passer")
    methods = await chat.expect(french_step(3, "Méthodes et matériel"))
    chat.press(methods, "Contrôle visuel")
    await chat.expect("", method="editMessageText")
    chat.press(methods, "Suivant")
    await chat.expect(french_step(4, "Travaux réalisés"))
    chat.say("Vidange et contrôle du compresseur.")
    parts = await chat.expect(french_step(5, "Pièces"))
    chat.press(parts, "Passer")  # no part: Skip (Done would do the same)
    await chat.expect(french_step(6, "Photos"))

    downloads: list[Recorded] = []
    kill: dict[str, Any] = {}

    def kill_at_a_download(record: Recorded) -> None:
        """Runs in the fake as the file is served, before the bot has read it."""
        if kill or record.method != "downloadFile" or not record.ok:
            return
        downloads.append(record)
        if len(downloads) >= KILL_AT_DOWNLOAD:
            bot.kill()
            kill.update(downloads=len(downloads), at=time.monotonic())

    api.listeners.append(kill_at_a_download)
    burst_start = chat.mark()
    first_update = len(api.updates)
    sent: list[bytes] = [noisy_jpeg(100 + n) for n in range(ALBUM + SINGLES)]
    for n, data in enumerate(sent[:ALBUM]):
        chat.photo(data, caption="Compresseur" if n == 0 else None, album="burst-1")
    for data in sent[ALBUM:]:
        chat.photo(data)
    burst = [int(u["update_id"]) for u in api.updates[first_update:]]
    assert len(burst) == ALBUM + SINGLES

    await deployment.until(lambda: kill, timeout=STEP_TIMEOUT, what="the 4th download (the kill)")
    assert bot.proc is not None
    assert await asyncio.wait_for(bot.proc.wait(), 10) == -signal.SIGKILL
    api.listeners.remove(kill_at_a_download)

    def photo_rows() -> list[tuple[Any, ...]]:
        return deployment.query(
            "SELECT a.path, a.file_unique_id, a.sha256 FROM attachments a"
            " JOIN interventions i ON i.id = a.intervention_id"
            " WHERE i.number = ? AND a.kind = 'photo' ORDER BY a.id",
            number,
        )

    def states() -> Counter[str]:
        marks = ",".join("?" * len(burst))
        return Counter(
            state
            for (state,) in deployment.query(
                f"SELECT state FROM inbox_updates WHERE update_id IN ({marks})", *burst
            )
        )

    folder = tmp_path / "data" / "interventions" / number
    stored_before = len(photo_rows())
    at_restart = states()
    files_before = len(files_under(folder))
    confirmations_before = len(chat.answers("enregistrée", after=burst_start))
    assert 0 < stored_before < ALBUM + SINGLES, f"killed with {stored_before} photos stored"
    # A photo is stored in the very unit of work that marks its update done.
    assert at_restart == Counter(done=stored_before, pending=len(burst) - stored_before)

    restarted = time.monotonic()
    await bot.start(api)

    def everything_handled() -> bool:
        return states()["done"] == len(burst) and len(photo_rows()) == ALBUM + SINGLES

    await deployment.until(everything_handled, timeout=60, what="every photo handled")
    last = await chat.expect(f"Au total : {ALBUM + SINGLES} photos", timeout=CONFIRMATION_TIMEOUT)
    handled_after = time.monotonic() - restarted

    # The wizard goes on: Done (on the last count), then Results.
    chat.press(last, "Terminé")
    await chat.expect(french_step(7, "Résultats"))
    await stop_when_everything_is_sent(deployment)

    rows = photo_rows()
    confirmations = [
        *chat.answers("enregistrée", after=burst_start),
        *chat.answers("enregistrée", method="editMessageText", after=burst_start),
    ]
    texts = [c.text or "" for c in confirmations]
    assert len(rows) == ALBUM + SINGLES, rows
    assert len({row[1] for row in rows}) == ALBUM + SINGLES, "a photo was stored twice"
    assert len({row[0] for row in rows}) == ALBUM + SINGLES, "two photos share a file"
    assert not [t for t in texts if "déjà reçue" in t], f"a photo was handled twice: {texts}"
    data_dir = tmp_path / "data"
    on_disk = {hashlib.sha256((data_dir / row[0]).read_bytes()).hexdigest() for row in rows}
    assert on_disk == {hashlib.sha256(data).hexdigest() for data in sent}, "bytes differ"
    assert on_disk == {row[2] for row in rows}
    assert states() == Counter(done=len(burst)), states()
    everything = deployment.query("SELECT state, count(*) FROM inbox_updates GROUP BY 1")
    assert everything == [("done", len(api.updates))], everything
    saved_counts = [
        int(match[1]) for t in texts if (match := re.search(r"(\d+) photos? enregistrées?", t))
    ]
    assert sum(saved_counts) >= ALBUM + SINGLES, texts
    files_after = files_under(folder)
    orphans = len(files_after) - len(rows)
    assert sorted(files_after) == sorted(data_dir / row[0] for row in rows), files_after
    assert_nothing_went_wrong(deployment)
    print(
        f"\nkill in the photos: {len(burst)} photo updates pushed at once;"
        f" killed at download {kill['downloads']} ({len(downloads)} served before the kill);"
        f" photos stored before the kill {stored_before},"
        f" files on disk before the restart {files_before};"
        f" updates at restart: {at_restart['pending']} pending, {at_restart['done']} done;"
        f" confirmations sent {len(confirmations)} ({confirmations_before} before the kill),"
        f" counting {saved_counts} photo(s), last: {plain(last.text or '').splitlines()[0]!r};"
        f" photos stored {len(rows)}, files in the folder {len(files_after)}"
        f" ({orphans} left by the killed unit of work);"
        f" {handled_after:.1f} s from the restart to the last confirmation"
    )


# 4. A clean stop while a message is on its way -------------------------------------


@pytest.mark.e2e
@shows_bot_log
async def test_a_message_on_its_way_at_sigterm_is_not_sent_again_after_a_restart(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    """The photo confirmation is on its way (Telegram takes 2 s to answer, as with a
    PDF uploaded over a poor link) when the bot is asked to stop with SIGTERM.
    Telegram completes the request anyway, as the real one does."""
    bot = deployment.bot
    await register_technician(deployment, LUC, "Luc Bernard")
    number = await plan_intervention(deployment, LUC, client_name="Garage Roux", contact="M. Roux")
    await bot.start(api)
    chat = Chat(deployment, LUC)
    chat.say("/today")
    listing = await chat.expect("Vos interventions du jour")
    chat.press(listing, number)
    card = await chat.expect("Première intervention chez ce client")
    chat.press(card, "Commencer")
    await chat.expect(french_step(1, "Contexte"))
    await deployment.until(  # the office's notice of the start is out of the way
        lambda: [
            r
            for r in api.requests
            if r.method == "sendMessage" and r.answered and "commencée par" in str(r.params)
        ],
        timeout=STEP_TIMEOUT,
        what="the office told of the start before the photo",
    )

    api.delay("sendMessage", 2.0, times=1)  # the next one is the confirmation
    chat.photo(noisy_jpeg(7))  # kept for the photo section; confirmed through the outbox

    def confirmation_on_its_way() -> list[Recorded]:
        return [
            r
            for r in api.requests
            if r.method == "sendMessage" and not r.answered and "Gardé" in str(r.params)
        ]

    (on_its_way,) = await deployment.until(
        confirmation_on_its_way, timeout=STEP_TIMEOUT, what="the confirmation on its way"
    )
    await bot.stop_cleanly()
    states = deployment.query(f"SELECT state FROM deliveries WHERE chat_id = {LUC.id}")

    await bot.start(api)
    assert on_its_way.ok, "Telegram did not complete the request it received"
    await deployment.until(
        lambda: not deployment.query("SELECT id FROM deliveries WHERE state = 'pending'"),
        timeout=STEP_TIMEOUT,
        what="the outbox empty after the restart",
    )
    await bot.stop_cleanly()
    received = chat.answers("Gardé pour la section Photos")
    print(
        f"\nsigterm with a message on its way: outbox after the stop {states},"
        f" confirmations received {len(received)}"
    )
    assert set(states) == {("sent",)}, "a delivery Telegram answered is still pending"
    assert len(received) == 1, "the technician got the confirmation twice"
