"""The office validates or returns reports; the client gets them, rates them, asks for
a visit, and sees only their own."""

from __future__ import annotations

from sqlalchemy import select, update

from storage import users
from storage.models import Client, Delivery, Rating, Role, VisitRequest
from tests.conftest import OFFICE_CHAT, TECHNICIAN, Harness, Job, load_job
from tests.mocked import Call, Person, button
from tests.test_wizard import at_review, finish_acceptance, last_text, signature_photo

DISPATCHER = Person(30, "Sophie", "sophie_bureau", "fr")
CLIENT = Person(40, "Élodie", "elodie_m", "fr")
STRANGER_CLIENT = Person(41, "Marc", None, "fr")


async def submitted(harness: Harness) -> tuple[Job, Call]:
    """A report submitted by TECHNICIAN; the office's copy with its buttons."""
    async with harness.db.transaction() as session:
        await users.add(session, DISPATCHER.id, "Sophie", Role.DISPATCHER)
    job = await at_review(harness)
    await finish_acceptance(harness, job)
    sent = await harness.deliver()
    (to_office,) = [c for c in sent if c.method == "sendDocument" and c.chat_id == OFFICE_CHAT]
    return job, to_office


async def resubmit(harness: Harness) -> None:
    """From the review, through the acceptance (the technician's saved signature), to Send."""
    for choice in ("Continuer", "Mme Martin", "Sans réserve"):
        prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
        await harness.press(TECHNICIAN, prompt, button(prompt, choice))
    await harness.feed(harness.updates.photo(TECHNICIAN, harness.session, signature_photo()))
    for choice in ("Oui, continuer", "Utiliser ma signature", "Envoyer le rapport"):
        prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
        await harness.press(TECHNICIAN, prompt, button(prompt, choice))


async def link_client(harness: Harness, job: Job, person: Person = CLIENT) -> None:
    async with harness.db.transaction() as session:
        account = await users.add(session, person.id, person.first_name, Role.CLIENT)
        await session.execute(
            update(Client).where(Client.id == job.client_id).values(user_id=account.id)
        )


async def test_the_office_gets_the_pdf_with_validate_and_return(short: Harness) -> None:
    _, to_office = await submitted(short)
    assert "à valider" in to_office.params["caption"]
    assert button(to_office, "Valider") and button(to_office, "Renvoyer")


async def test_a_returned_report_reopens_on_the_review_with_the_comment(short: Harness) -> None:
    job, to_office = await submitted(short)
    calls = await short.press(DISPATCHER, to_office, button(to_office, "Renvoyer"))
    assert "Pourquoi renvoyer" in last_text(calls)
    await short.say(DISPATCHER, "Photo de la vanne floue, merci de la refaire", chat_id=OFFICE_CHAT)
    saved = await load_job(short.db, job)
    assert saved.status == "returned" and saved.wizard_step == "review"
    told = [c for c in await short.deliver() if c.chat_id == TECHNICIAN.id]
    assert "vous renvoie le rapport" in told[0].text and "vanne floue" in told[0].text
    calls = await short.press(TECHNICIAN, told[0], button(told[0], "Corriger"))
    assert "Renvoyé par le bureau" in last_text(calls) and "vanne floue" in last_text(calls)
    assert "Relecture" in last_text(calls)
    await resubmit(short)
    assert (await load_job(short.db, job)).status == "awaiting_validation"
    again = [c for c in await short.deliver() if c.method == "sendDocument"]
    assert any(c.chat_id == OFFICE_CHAT and button(c, "Valider") for c in again)


async def test_validation_sends_the_report_to_the_linked_client_once(short: Harness) -> None:
    job, to_office = await submitted(short)
    await link_client(short, job)
    calls = await short.press(DISPATCHER, to_office, button(to_office, "Valider"))
    assert calls[0].method == "answerCallbackQuery"
    edited = calls[-1].params.get("caption") or calls[-1].params.get("text")
    assert "Validé par Sophie" in str(edited)
    sent = await short.deliver()
    to_client = [c for c in sent if c.chat_id == CLIENT.id]
    assert [c.method for c in to_client] == ["sendDocument", "sendMessage"]
    assert job.number in to_client[0].params["caption"]
    assert "note de 1 à 5" in to_client[1].text
    assert any("a été validé" in c.text for c in sent if c.chat_id == TECHNICIAN.id)
    calls = await short.press(DISPATCHER, to_office, button(to_office, "Valider"))
    assert "déjà validée" in calls[0].params["text"]
    assert [c for c in await short.deliver() if c.chat_id == CLIENT.id] == []
    assert (await load_job(short.db, job)).status == "validated"


async def test_only_the_office_validates(short: Harness) -> None:
    job, to_office = await submitted(short)
    calls = await short.press(TECHNICIAN, to_office, button(to_office, "Valider"))
    assert calls[0].params["text"] == "Vous n'avez pas accès à cette action."
    assert (await load_job(short.db, job)).status == "awaiting_validation"


async def validated(harness: Harness) -> tuple[Job, Call]:
    job, to_office = await submitted(harness)
    await link_client(harness, job)
    await harness.press(DISPATCHER, to_office, button(to_office, "Valider"))
    sent = await harness.deliver()
    (prompt,) = [c for c in sent if c.chat_id == CLIENT.id and c.method == "sendMessage"]
    return job, prompt


async def test_the_client_rates_and_comments_and_the_office_is_told(short: Harness) -> None:
    _, prompt = await validated(short)
    calls = await short.press(CLIENT, prompt, button(prompt, "★★★★"))
    assert "★★★★☆" in calls[-2].text
    await short.say(CLIENT, "Technicien ponctuel et soigneux")
    told = [c for c in await short.deliver() if c.chat_id == OFFICE_CHAT]
    assert "★★★★☆" in told[-1].text and "ponctuel" in told[-1].text
    calls = await short.press(CLIENT, prompt, button(prompt, "★★"))
    assert "déjà noté" in calls[0].params["text"]
    async with short.db.sessions() as session:
        ratings = (await session.scalars(select(Rating))).all()
    assert [(r.score, r.comment) for r in ratings] == [(4, "Technicien ponctuel et soigneux")]


async def test_a_client_cannot_rate_or_fetch_another_clients_report(short: Harness) -> None:
    job, prompt = await validated(short)
    async with short.db.transaction() as session:
        other = await users.add(session, STRANGER_CLIENT.id, "Marc", Role.CLIENT)
        session.add(Client(name="Autre SA", user_id=other.id))
    calls = await short.press(STRANGER_CLIENT, prompt, button(prompt, "★★★★★"))
    assert calls[0].params["text"] == "Vous n'avez pas accès à cette action."
    forged = f"pdf:{job.id}"
    calls = await short.press(STRANGER_CLIENT, prompt, forged)
    assert calls[0].params["text"] == "Vous n'avez pas accès à cette action."
    assert await short.deliver() == []


async def test_reports_lists_the_clients_reports_and_sends_one_again(short: Harness) -> None:
    job, _ = await validated(short)
    listing = (await short.say(CLIENT, "/reports"))[0]
    assert job.number in listing.text
    await short.press(CLIENT, listing, button(listing, job.number))
    sent = await short.deliver()
    assert [(c.method, c.chat_id) for c in sent] == [("sendDocument", CLIENT.id)]


async def test_a_visit_request_reaches_the_office(short: Harness) -> None:
    await validated(short)
    assert "Décrivez votre besoin" in (await short.say(CLIENT, "/visit"))[0].text
    sticker = {
        "file_id": "s",
        "file_unique_id": "us",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    assert "en texte" in (await short.say(CLIENT, "", sticker=sticker))[0].text
    calls = await short.say(CLIENT, "La chaudière refait du bruit depuis hier")
    assert "transmise au bureau" in calls[0].text
    told = [c for c in await short.deliver() if c.chat_id == OFFICE_CHAT]
    assert "Demande de visite" in told[-1].text and "refait du bruit" in told[-1].text
    async with short.db.sessions() as session:
        requests = (await session.scalars(select(VisitRequest))).all()
    assert [r.text for r in requests] == ["La chaudière refait du bruit depuis hier"]


async def test_the_client_link_on_the_report_links_their_account(short: Harness) -> None:
    from storage.models import Invite

    job, _ = await submitted(short)
    async with short.db.sessions() as session:
        invite = (await session.scalars(select(Invite).where(Invite.client_id.is_not(None)))).one()
    calls = await short.say(TECHNICIAN, f"/start {invite.code}")
    assert "destiné au client" in calls[0].text
    calls = await short.say(CLIENT, f"/start {invite.code}")
    assert "Client" in calls[0].text
    async with short.db.sessions() as session:
        client = await session.get(Client, job.client_id)
        person = await users.by_telegram_id(session, CLIENT.id)
    assert client is not None and person is not None and client.user_id == person.id
    assert person.role == Role.CLIENT


async def test_the_technician_shows_the_client_link_as_a_qr_code(short: Harness) -> None:
    job = await at_review(short)
    await finish_acceptance(short, job)
    await short.deliver()
    # The button is under the technician's copy of the report.
    (copy,) = short.session.sent("sendDocument", TECHNICIAN.id)
    calls = await short.press(TECHNICIAN, copy, button(copy, "code QR"))
    photos = [c for c in calls if c.method == "sendPhoto"]
    assert len(photos) == 1 and "?start=inv_" in photos[0].params["caption"]


async def test_validation_also_emails_the_client_when_email_is_set_up(short: Harness) -> None:
    from dataclasses import replace

    job, to_office = await submitted(short)
    async with short.db.transaction() as session:
        await session.execute(
            update(Client).where(Client.id == job.client_id).values(email="martin@example.fr")
        )
    mailing = Harness(
        short.db, short.files, replace(short.options, email_enabled=True), short.templates
    )
    mailing.updates = short.updates
    await mailing.press(DISPATCHER, to_office, button(to_office, "Valider"))
    async with short.db.sessions() as session:
        emails = (await session.scalars(select(Delivery).where(Delivery.channel == "email"))).all()
    assert [(e.email, e.file_name) for e in emails] == [("martin@example.fr", f"{job.number}.pdf")]
    assert job.number in (emails[0].options or {}).get("_subject", "")
    await mailing.bot.session.close()


async def test_no_email_is_queued_when_email_is_not_set_up(short: Harness) -> None:
    job, to_office = await submitted(short)
    async with short.db.transaction() as session:
        await session.execute(
            update(Client).where(Client.id == job.client_id).values(email="martin@example.fr")
        )
    await short.press(DISPATCHER, to_office, button(to_office, "Valider"))
    async with short.db.sessions() as session:
        emails = (await session.scalars(select(Delivery).where(Delivery.channel == "email"))).all()
    assert emails == []
