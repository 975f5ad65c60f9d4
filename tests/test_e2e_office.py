"""End to end: the office side of Terrain through `python -m bot` (issue 5, "Done when").

The bot runs as a real process against the local `FakeBotAPI` (test_e2e.py says how
it is started and stopped), with OFFICE_CHAT_ID set, a TEMPLATES_DIR holding a short
template, and SMTP settings pointing at a local aiosmtpd server in this process.

1. A dispatcher plans an intervention for a new client with /plan; the technician opens
   the notice, starts, fills the short report and submits; the office returns it with a
   comment; the technician corrects and resubmits; the office validates; the client,
   linked by the deep link, gets the PDF and rates it; the office sees the rating; the
   email with the PDF reaches the SMTP server.
2. After a validated intervention, `python -m bot export --format xlsx` opens with
   openpyxl with real dates and numbers.
3. Fifty technicians start their interventions at once: fifty real office events
   ("commencée par ..."), produced through the chat, not written into the outbox. The
   office chat gets at most 20 messages in any 60 s window and every event's text.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook

from storage import interventions, users
from storage.db import Database
from storage.models import Client, Role
from tests.fakeapi import FakeBotAPI, FakeUser, Recorded
from tests.helpers import pdf_text
from tests.test_e2e import Deployment, button, shows_bot_log
from tests.test_e2e_report import (
    OFFICE_CHAT,
    STEP_TIMEOUT,
    SUBMIT_TIMEOUT,
    Chat,
    noisy_jpeg,
    pdf_sent_to,
    register_technician,
    register_with_cli,
    signature_photo,
)
from tests.test_email import Inbox, free_port

SOPHIE = FakeUser(620_001, "Sophie", username="sophie_bureau", language_code="fr")
PAUL = FakeUser(620_002, "Paul", username="paul_tech", language_code="fr")
ELODIE = FakeUser(620_003, "Élodie", username="elodie_m", language_code="fr")
CLIENT_EMAIL = "contact@garage-dupont.test"
EXPRESS = """
kind = "repair"
title = { fr = "Dépannage express", en = "Express repair" }
labour_rate = "60"
[sections]
context = "required"
photos = "required"
results = "required"
times = "required"
pricing = "required"
"""
STEPS = 8  # five sections, then review, acceptance, submit
GROUP_LIMIT = 20  # messages a minute in a group
BURST = 50


def step(number: int, title: str) -> str:
    return f"Étape {number}/{STEPS} · {title}"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def deployment_env(tmp_path: Path, smtp: tuple[Inbox, int]) -> dict[str, str]:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "express.toml").write_text(EXPRESS, "utf-8")
    return {
        "OFFICE_CHAT_ID": str(OFFICE_CHAT),
        "TEMPLATES_DIR": str(templates),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp[1]),
        "SMTP_SECURITY": "none",
        "SMTP_FROM": "bureau@example.fr",
    }


def office(api: FakeBotAPI) -> dict[str, object]:
    return api.group_chat(OFFICE_CHAT, "Bureau")


class Office(Chat):
    """The dispatcher's messages in the office group (answers read there)."""

    def __init__(self, deployment: Deployment, person: FakeUser) -> None:
        super().__init__(deployment, FakeUser(OFFICE_CHAT, "Bureau"))
        self.dispatcher = person

    def say(self, text: str) -> None:
        self.api.send_text(self.dispatcher, text, chat=office(self.api))

    def press(self, message: Recorded, label: str) -> None:
        self.api.press_button(self.dispatcher, message, button(message, label))


async def plan(sophie: Chat) -> str:
    """/plan for a new client with an email address, tomorrow 9h, with Paul."""
    sophie.say("/plan")
    ask = await sophie.expect("Planifier une intervention")
    sophie.press(ask, "Nouveau client")
    await sophie.expect("Le nom du client")
    sophie.say("Garage Dupont")
    await sophie.expect("")  # the contact's name
    sophie.say("M. Dupont")
    await sophie.expect("")  # the phone
    sophie.say("01 23 45 67 89")
    await sophie.expect("")  # the email
    sophie.say(CLIENT_EMAIL)
    await sophie.expect("")  # the address
    sophie.say("3 rue des Lilas, 69003 Lyon")
    site = await sophie.expect("Nouveau client enregistré")
    sophie.press(site, "adresse du client")
    kinds = await sophie.expect("Quel type d'intervention")
    sophie.press(kinds, "Dépannage express")
    await sophie.expect("Décrivez la demande")
    sophie.say("Le pont élévateur ne monte plus")
    await sophie.expect("Quel jour")
    sophie.say("demain 9h")
    who = await sophie.expect("Quel technicien")
    sophie.press(who, "Paul")
    (number,) = await sophie.deployment.until(
        lambda: sophie.deployment.query("SELECT number FROM interventions"),
        timeout=STEP_TIMEOUT,
        what="the intervention planned",
    )
    done = await sophie.expect(f"Intervention {number[0]} planifiée")
    assert CLIENT_EMAIL in str(sophie.deployment.query("SELECT email FROM clients")), done.text
    return str(number[0])


async def fill_and_submit(paul: Chat, number: str) -> None:
    """From the notice to the submission, the short template."""
    notice = await paul.expect(f"Nouvelle intervention {number}")
    assert "Garage Dupont" in (notice.text or ""), notice.text
    paul.press(notice, "Ouvrir")
    card = await paul.expect("Le pont élévateur ne monte plus")
    paul.press(card, "Commencer")
    await paul.expect(step(1, "Contexte"))
    paul.say("Pont bloqué en position basse, voyant rouge allumé.")
    await paul.expect(step(2, "Photos"))
    paul.photo(noisy_jpeg(11), caption="Armoire de commande")
    saved = await paul.expect("1 photo enregistrée")
    paul.press(saved, "Terminé")
    results = await paul.expect(step(3, "Résultats"))
    paul.press(results, "Oui")
    await paul.expect("Un commentaire sur le résultat")
    paul.say("Fusible remplacé, le pont monte et descend.")
    end = await paul.expect(step(4, "Heures"))
    paul.press(end, "Maintenant")
    hours = await paul.expect("Temps travaillé")
    paul.press(hours, "C'est juste")
    travel = await paul.expect("Déplacement : forfait")
    paul.press(travel, "Forfait")
    pricing = await paul.expect(step(5, "Tarification"))
    paul.press(pricing, "Valider la tarification")
    review = await paul.expect(step(6, "Relecture"))
    paul.press(review, "Continuer")
    await paul.expect(step(7, "Réception des travaux"))
    paul.say("Jean Dupont")
    reserve = await paul.expect("Réception par Jean Dupont")
    paul.press(reserve, "Sans réserve")
    await paul.expect("Faites signer Jean Dupont")
    paul.photo(signature_photo(1))
    check = await paul.expect("La signature du client est-elle bien lisible")
    paul.press(check, "Oui, continuer")
    await paul.expect("Signez sur une feuille blanche")
    paul.photo(signature_photo(2))
    submit = await paul.expect(step(8, "Envoi"))
    paul.press(submit, "Envoyer le rapport")
    await paul.expect("envoyé au bureau pour validation", timeout=SUBMIT_TIMEOUT)


async def resubmit(paul: Chat) -> None:
    """From the review again: the receiver typed, a new client signature, Paul's own kept."""
    paul.say("/resume")
    review = await paul.expect(step(6, "Relecture"))
    paul.press(review, "Continuer")
    await paul.expect(step(7, "Réception des travaux"))
    paul.say("Jean Dupont")
    reserve = await paul.expect("Réception par Jean Dupont")
    paul.press(reserve, "Sans réserve")
    await paul.expect("Faites signer Jean Dupont")
    paul.photo(signature_photo(3))
    check = await paul.expect("La signature du client est-elle bien lisible")
    paul.press(check, "Oui, continuer")
    own = await paul.expect(step(7, "Réception des travaux"))  # his saved signature?
    paul.press(own, "Utiliser ma signature")
    submit = await paul.expect(step(8, "Envoi"))
    paul.press(submit, "Envoyer le rapport")
    await paul.expect("envoyé au bureau pour validation", timeout=SUBMIT_TIMEOUT)


def office_pdfs(deployment: Deployment) -> list[Recorded]:
    return [
        r
        for r in deployment.api.sent("sendDocument", OFFICE_CHAT)
        if (upload := r.upload("document")) is not None and upload.data.startswith(b"%PDF")
    ]


async def to_validation(deployment: Deployment, *, with_return: bool) -> tuple[str, bytes]:
    """Plan, fill, (return, correct, resubmit), validate: the number and the office's PDF."""
    api = deployment.api
    await register_with_cli(deployment, SOPHIE, "dispatcher", "Sophie Laurent")
    await register_technician(deployment, PAUL, "Paul Lefèvre")
    await deployment.bot.start(api)
    sophie, paul, bureau = (
        Chat(deployment, SOPHIE),
        Chat(deployment, PAUL),
        Office(deployment, SOPHIE),
    )

    number = await plan(sophie)
    await bureau.expect(f"{number} assignée à Paul")
    await fill_and_submit(paul, number)
    first = await bureau.expect("à valider", method="sendDocument", timeout=SUBMIT_TIMEOUT)
    assert number in (first.text or ""), first.text

    if with_return:
        bureau.press(first, "Renvoyer")
        await bureau.expect("Pourquoi renvoyer")
        bureau.say("Photo de l'armoire floue, merci de la refaire")
        told = await paul.expect("vous renvoie le rapport")
        assert "armoire floue" in (told.text or ""), told.text
        paul.press(told, "Corriger")
        reopened = await paul.expect("Renvoyé par le bureau")
        assert "armoire floue" in (reopened.text or "") and "Relecture" in (reopened.text or "")
        (status,) = deployment.query("SELECT status FROM interventions")
        assert status == ("returned",), status
        await resubmit(paul)
        last = await bureau.expect("à valider", method="sendDocument", timeout=SUBMIT_TIMEOUT)
        assert len(office_pdfs(deployment)) == 2
    else:
        last = first

    # The client opens the deep link carried by the report (the invites table).
    (code,) = deployment.query("SELECT code FROM invites WHERE client_id IS NOT NULL")
    elodie = Chat(deployment, ELODIE)
    elodie.say(f"/start {code[0]}")
    await elodie.expect("Client")

    bureau.press(last, "Valider")
    await bureau.expect("Validé par Sophie", method="editMessageCaption")
    pdf = last.upload("document")
    assert pdf is not None
    return number, pdf.data


# 1. From planning to the client's rating ----------------------------------------


@pytest.mark.e2e
@shows_bot_log
async def test_from_planning_to_the_clients_rating(
    api: FakeBotAPI, deployment: Deployment, smtp: tuple[Inbox, int]
) -> None:
    started = time.monotonic()
    number, office_pdf = await to_validation(deployment, with_return=True)
    assert number in pdf_text(office_pdf) and "Garage Dupont" in pdf_text(office_pdf)

    elodie = Chat(deployment, ELODIE)
    elodie.cursor = 0
    received = await elodie.expect(number, method="sendDocument", timeout=STEP_TIMEOUT)
    assert received.upload("document") is not None
    assert received.upload("document").data == office_pdf  # type: ignore[union-attr]
    prompt = await elodie.expect("note de 1 à 5")
    elodie.press(prompt, "★★★★")
    await elodie.expect("★★★★☆", method="editMessageText")
    elodie.say("Technicien ponctuel et soigneux")
    bureau = Office(deployment, SOPHIE)
    rating = await bureau.expect("★★★★☆")
    assert "ponctuel" in (rating.text or "") and number in (rating.text or ""), rating.text
    (saved,) = deployment.query("SELECT score, comment FROM ratings")
    assert saved == (4, "Technicien ponctuel et soigneux")

    inbox = smtp[0]
    await deployment.until(lambda: inbox.received, timeout=STEP_TIMEOUT, what="the email")
    (mail,) = inbox.received
    message: EmailMessage = mail.message
    assert mail.rcpt_tos == [CLIENT_EMAIL] and message["To"] == CLIENT_EMAIL, message["To"]
    assert "bureau@example.fr" in str(message["From"])
    assert number in str(message["Subject"]), message["Subject"]
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == f"{number}.pdf"
    assert attachment.get_content() == office_pdf
    assert pdf_sent_to(api, OFFICE_CHAT)[-1] == office_pdf
    print(
        f"\nplanning to rating: {number}, office PDFs {len(office_pdfs(deployment))},"
        f" client got {len(pdf_sent_to(api, ELODIE.id))} PDF, rating {saved},"
        f" email to {message['To']} subject {message['Subject']!r}"
        f" with {attachment.get_filename()} ({len(office_pdf)} bytes);"
        f" {time.monotonic() - started:.1f} s"
    )


# 2. The export -------------------------------------------------------------------


@pytest.mark.e2e
@shows_bot_log
async def test_the_export_opens_with_real_types(
    api: FakeBotAPI, deployment: Deployment, tmp_path: Path
) -> None:
    started = time.monotonic()
    number, _ = await to_validation(deployment, with_return=False)
    await deployment.until(
        lambda: deployment.query("SELECT status FROM interventions") == [("validated",)],
        what="the intervention validated",
    )
    today = dt.date.today()
    first = today.replace(day=1)
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    out = tmp_path / "export.xlsx"
    code, stdout, err = await deployment.cli(
        "export", "--from", first.isoformat(), "--to", last.isoformat(),
        "--format", "xlsx", "--out", str(out),
    )  # fmt: skip
    assert code == 0, f"export exited {code}\n{stdout}\n{err}"
    sheet = load_workbook(out).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    header, body = rows[0], rows[1:]
    assert len(body) == 1, rows
    row = dict(zip(header, body[0], strict=False))
    values = list(row.values())
    assert row["N°"] == number and row["Client"] == "Garage Dupont", row
    for column in ("Prévue le", "Début", "Fin"):
        assert isinstance(row[column], dt.datetime), (column, row[column])
    for column in ("Heures travaillées (décimales)", "Total HT", "TVA", "Total TTC"):
        assert isinstance(row[column], int | float), (column, row[column])
    assert row["Total TTC"] > row["Total HT"] > 0, row
    dates = [v for v in values if isinstance(v, dt.datetime | dt.date)]
    assert dates, f"no date cell: {row}"
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    assert numbers, f"no number cell: {row}"
    texts = [v for v in values if isinstance(v, str)]
    assert not [t for t in texts if _looks_numeric(t)], f"numbers or dates as text: {texts}"
    print(
        f"\nexport: {out.name}, header {header};"
        f" row types { {k: type(v).__name__ for k, v in row.items()} };"
        f" {time.monotonic() - started:.1f} s"
    )


def _looks_numeric(text: str) -> bool:
    plain = text.replace(",", ".").replace(" ", "").replace("\u202f", "").replace("€", "")
    try:
        float(plain)
    except ValueError:
        pass
    else:
        return True
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
        return True
    return False


# 3. A burst of fifty office events -------------------------------------------------


async def fifty_technicians(deployment: Deployment) -> list[tuple[FakeUser, str, str]]:
    """Fifty technicians with one intervention each today: (person, name, number)."""
    db = Database(f"sqlite+aiosqlite:///{deployment.db_path}")
    crew: list[tuple[FakeUser, str, str]] = []
    try:
        async with db.transaction() as session:
            client = Client(name="Entrepôt Central", address="1 quai Sud, 69007 Lyon")
            session.add(client)
            await session.flush()
            now = dt.datetime.now(dt.UTC)
            for n in range(BURST):
                person = FakeUser(630_000 + n, f"Tech{n:02d}", language_code="fr")
                name = f"Technicien {n:02d}"
                technician = await users.add(session, person.id, name, Role.TECHNICIAN)
                job = await interventions.create(
                    session,
                    year=now.year,
                    client_id=client.id,
                    kind="repair",
                    template="express",
                    technician=technician,
                    scheduled_at=now,
                    request=f"Quai {n:02d} bloqué.",
                )
                crew.append((person, name, job.number))
    finally:
        await db.close()
    return crew


@pytest.mark.e2e
@shows_bot_log
async def test_a_burst_of_fifty_office_events_stays_within_the_group_limit(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    started = time.monotonic()
    code, _, err = await deployment.cli("users", "list")  # creates the schema
    assert code == 0, err
    crew = await fifty_technicians(deployment)
    await deployment.bot.start(api)

    async def open_card(n: int, person: FakeUser, number: str) -> tuple[Chat, Recorded]:
        chat = Chat(deployment, person)
        chat.say("/today")
        listing = await chat.expect("Vos interventions du jour", timeout=60)
        chat.press(listing, number)
        return chat, await chat.expect(f"Quai {n:02d} bloqué", timeout=60)

    cards = await asyncio.gather(*(open_card(n, p, num) for n, (p, _, num) in enumerate(crew)))
    before = len(api.requests)
    burst_at = time.monotonic()
    for chat, card in cards:  # fifty presses on Start, at once
        chat.press(card, "Commencer")

    def office_texts() -> list[Recorded]:
        return [r for r in api.requests[before:] if r.ok and str(r.chat_id) == str(OFFICE_CHAT)]

    def all_told() -> bool:
        text = "\n".join(r.text or "" for r in office_texts())
        return all(number in text for _, _, number in crew)

    await deployment.until(all_told, timeout=90, what="the 50 starts told to the office")
    told_at = time.monotonic()
    await asyncio.sleep(5)  # nothing more should come
    received = office_texts()
    text = "\n".join(r.text or "" for r in received)
    missing = [n for _, name, n in crew if f"{n}" not in text or name not in text]
    assert not missing, f"events lost: {missing}"
    times = sorted(r.time for r in received)
    busiest = max(sum(1 for t in times if first <= t < first + 60) for first in times)
    assert busiest <= GROUP_LIMIT, f"{busiest} messages within 60 s to the office"
    started_rows = deployment.query("SELECT count(*) FROM interventions WHERE status='in_progress'")
    assert started_rows == [(BURST,)], started_rows
    print(
        f"\nburst: {BURST} technicians pressed Start at once; office got {len(received)}"
        f" message(s) ({[r.method for r in received]}), at most {busiest} in 60 s;"
        f" all {BURST} starts told {told_at - burst_at:.1f} s after the presses;"
        f" {time.monotonic() - started:.1f} s"
    )
