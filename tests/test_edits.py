"""Edited messages: an answer corrected by editing its message changes the report while
the report can still change, and is confirmed in one line; otherwise the person is
told why not and how to correct. Never silent, except for chatter in the office group."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from reports.formatting import Formatter
from storage import users
from storage.models import Answer, Attachment, Intervention, Rating, Role, VisitRequest
from storage.status import Status
from tests.conftest import OFFICE_CHAT, TECHNICIAN, Harness, Job, load_job, plan_job, scratch
from tests.mocked import Call, Person, button
from tests.test_checklist_parts import METHODS, PARTS, edited, reach
from tests.test_office_client import CLIENT, DISPATCHER, submitted, validated
from tests.test_wizard import (
    at_review,
    at_times,
    finish_acceptance,
    go_to_photos,
    jpeg,
    started,
)

FR = Formatter("fr")


async def send(harness: Harness, person: Person, text: str, **extra: Any) -> dict[str, Any]:
    """Send a message; the update, to edit it later."""
    sent = harness.updates.message(person, text, **extra)
    await harness.feed(sent)
    return sent


def only_line(calls: list[Call]) -> str:
    """The one message an edit was answered with: no question asked again, nothing else."""
    assert [c.method for c in calls] == ["sendMessage"], [(c.method, c.text) for c in calls]
    assert "Étape " not in calls[0].text, "no question is sent again"
    return calls[0].text


async def answers_of(harness: Harness, message: dict[str, Any]) -> list[tuple[str, str | None]]:
    body = message.get("message") or message["edited_message"]
    async with harness.db.sessions() as session:
        found = await session.scalars(
            select(Answer)
            .where(Answer.message_id == body["message_id"], Answer.chat_id == body["chat"]["id"])
            .order_by(Answer.id)
        )
        return [(a.target, a.text) for a in found]


@dataclass
class TypedLine:
    """A part line typed field by field: the quantity's message, and what the quantity
    question answered to "abc" on the way."""

    quantity: dict[str, Any]
    refusal: str


async def add_part_line(harness: Harness, job: Job) -> TypedLine:
    """Line "FLT-200 · Filtre à air, 2 × 12,50 €", a quantity "abc" refused on the way."""
    await reach(harness, job, PARTS)
    await send(harness, TECHNICIAN, "FLT-200")
    await send(harness, TECHNICIAN, "Filtre à air")
    refusal = (await harness.say(TECHNICIAN, "abc"))[0].text
    quantity = await send(harness, TECHNICIAN, "2")
    await send(harness, TECHNICIAN, "12,50")
    return TypedLine(quantity, refusal)


# While the report is being filled in ----------------------------------------------------


async def test_a_context_edited_on_a_later_step_is_stored_and_confirmed_in_one_line(
    short: Harness,
) -> None:
    job = await started(short)
    context = await send(short, TECHNICIAN, "Fuite sur le circuit de chauffge")
    await send(short, TECHNICIAN, "Joint remplacé")
    assert (await load_job(short.db, job)).wizard_step == "photos"

    calls = await short.feed(short.updates.edited(context, "Fuite sur le <circuit> de chauffage"))

    line = only_line(calls)
    assert "Correction enregistrée" in line and job.number in line and "Contexte" in line
    assert "Fuite sur le &lt;circuit&gt; de chauffage" in line
    saved = await load_job(short.db, job)
    assert saved.context == "Fuite sur le <circuit> de chauffage"
    assert saved.work_done == "Joint remplacé"
    assert saved.wizard_step == "photos"
    assert await answers_of(short, context) == [
        ("field:context", "Fuite sur le <circuit> de chauffage")
    ]


async def test_the_second_of_two_long_messages_is_edited_alone(short: Harness) -> None:
    job = await started(short)
    first = await send(short, TECHNICIAN, "a" * 4096)
    second = await send(short, TECHNICIAN, "b" * 1200)
    assert (await load_job(short.db, job)).context == "a" * 4096 + "\n" + "b" * 1200

    calls = await short.feed(short.updates.edited(second, "c" * 1000))

    assert "Contexte" in only_line(calls)
    saved = await load_job(short.db, job)
    assert saved.context == "a" * 4096 + "\n" + "c" * 1000
    assert await answers_of(short, first) == [("field:context", "a" * 4096)]
    assert saved.wizard_step == "work_done"


async def test_an_edit_of_a_piece_rewritten_since_points_to_the_review(short: Harness) -> None:
    job = await started(short)
    first = await send(short, TECHNICIAN, "Premier contexte")
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "Retour"))
    await send(short, TECHNICIAN, "Contexte réécrit")

    calls = await short.feed(short.updates.edited(first, "Premier contexte corrigé"))

    line = only_line(calls)
    assert "remplacé depuis" in line and "relecture" in line
    assert (await load_job(short.db, job)).context == "Contexte réécrit"
    assert await answers_of(short, first) == [("field:context", "Premier contexte")]


async def test_an_edited_part_quantity_updates_the_line_and_the_totals(harness: Harness) -> None:
    job = await plan_job(harness.db)
    typed = await add_part_line(harness, job)

    calls = await harness.feed(harness.updates.edited(typed.quantity, "x4"))

    line = only_line(calls)
    assert "Pièces · ligne 1" in line
    assert f"4 × {FR.money(Decimal('12.50'))} = <b>{FR.money(Decimal(50))}</b>" in line
    assert f"Total pièces HT : <b>{FR.money(Decimal(50))}</b>" in line
    saved = await load_job(harness.db, job)
    assert [(p.reference, p.quantity, p.unit_price) for p in saved.parts] == [
        ("FLT-200", Decimal(4), Decimal("12.50"))
    ]
    listing = (await harness.say(TECHNICIAN, "/resume"))[-1]
    assert f"Total pièces HT : <b>{FR.money(Decimal(50))}</b>" in listing.text


async def test_a_bad_quantity_in_an_edit_is_refused_with_the_steps_words(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db)
    typed = await add_part_line(harness, job)
    assert "Je n'ai pas compris" in typed.refusal

    calls = await harness.feed(harness.updates.edited(typed.quantity, "abc"))

    assert only_line(calls) == typed.refusal
    saved = await load_job(harness.db, job)
    assert [p.quantity for p in saved.parts] == [Decimal(2)]
    target = f"part:{saved.parts[0].id}:quantity"
    assert await answers_of(harness, typed.quantity) == [(target, "2")]


async def test_a_quantity_edited_before_the_price_is_typed_goes_into_the_line(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db)
    await reach(harness, job, PARTS)
    await send(harness, TECHNICIAN, "Joint fibre")
    quantity = await send(harness, TECHNICIAN, "2")

    calls = await harness.feed(harness.updates.edited(quantity, "3"))

    assert "pièce en cours, Quantité : 3" in only_line(calls)
    await send(harness, TECHNICIAN, "1,20")
    saved = await load_job(harness.db, job)
    assert [(p.designation, p.quantity) for p in saved.parts] == [("Joint fibre", Decimal(3))]
    assert await answers_of(harness, quantity) == [(f"part:{saved.parts[0].id}:quantity", "3")]


async def test_an_edited_end_time_recomputes_the_hours(short: Harness) -> None:
    job = await at_times(short)
    arrival = dt.datetime(2026, 11, 20, 8, 0, tzinfo=short.options.tz)
    async with short.db.transaction() as session:
        await session.execute(
            update(Intervention).where(Intervention.id == job.id).values(started_at=arrival)
        )
    end = await send(short, TECHNICIAN, "10h")
    saved = await load_job(short.db, job)
    assert saved.worked_hours == Decimal(2) and scratch(saved) == {"stage": "hours"}

    calls = await short.feed(short.updates.edited(end, "11h30"))

    line = only_line(calls)
    assert "Heures" in line and "fin 20/11/2026 11:30" in line
    assert "3\u00a0h\u00a030 de travail" in line
    assert "Total TTC" in line
    saved = await load_job(short.db, job)
    assert saved.ended_at == dt.datetime(2026, 11, 20, 10, 30, tzinfo=dt.UTC)
    assert saved.worked_hours == Decimal("3.5")
    assert (saved.wizard_step, scratch(saved)) == ("times", {"stage": "hours"})


async def test_an_edited_photo_caption_updates_the_caption(short: Harness) -> None:
    job = await go_to_photos(short)
    photo = short.updates.photo(TECHNICIAN, short.session, jpeg(), caption="Vanne fuyarde")
    await short.feed(photo)
    await short.deliver(now=True)

    calls = await short.feed(short.updates.edited(photo, caption="Vanne neuve posée"))

    assert "Photos" in only_line(calls) and "Vanne neuve posée" in calls[0].text
    async with short.db.sessions() as session:
        (kept,) = (
            await session.scalars(select(Attachment).where(Attachment.intervention_id == job.id))
        ).all()
    assert kept.caption == "Vanne neuve posée"

    replaced = short.updates.edited(photo, caption="Autre photo")
    replaced["edited_message"]["photo"] = short.updates.photo(
        TECHNICIAN, short.session, jpeg(color="blue")
    )["message"]["photo"]
    calls = await short.feed(replaced)
    assert "la première reste au rapport" in only_line(calls)
    async with short.db.sessions() as session:
        kept_after = await session.get(Attachment, kept.id)
    assert kept_after is not None and kept_after.caption == "Vanne neuve posée"


async def test_an_edited_item_note_and_tools_note_are_stored(harness: Harness) -> None:
    job = await plan_job(harness.db)
    prompt = await reach(harness, job, METHODS)
    picker = edited(await harness.press(TECHNICIAN, prompt, button(prompt, "📝 Note")))
    await harness.press(TECHNICIAN, picker, button(picker, "Équipements"))
    note = await send(harness, TECHNICIAN, "Gants classe 00")
    first_tool = await send(harness, TECHNICIAN, "Multimètre")
    await send(harness, TECHNICIAN, "Clé dynamométrique")

    calls = await harness.feed(harness.updates.edited(note, "Gants isolants classe 0"))
    assert "Équipements de protection" in only_line(calls) and "classe 0" in calls[0].text
    calls = await harness.feed(harness.updates.edited(first_tool, "Multimètre Fluke"))
    assert "Multimètre Fluke" in only_line(calls)

    saved = await load_job(harness.db, job)
    assert saved.checklist[1].note == "Gants isolants classe 0"
    assert saved.methods == "Multimètre Fluke\nClé dynamométrique"
    assert saved.wizard_step == "methods"


async def test_an_edited_vat_rate_changes_the_total_and_a_bad_one_is_refused(
    short: Harness,
) -> None:
    job = await at_times(short)
    for choice in ("Maintenant", "C'est juste", "Pas de déplacement", "TVA"):
        prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
        await short.press(TECHNICIAN, prompt, button(prompt, choice))
    vat = await send(short, TECHNICIAN, "5,5 %")

    refused = await short.feed(short.updates.edited(vat, "150"))
    assert "trop grand" in only_line(refused)
    assert (await load_job(short.db, job)).vat_rate == Decimal("5.5")

    calls = await short.feed(short.updates.edited(vat, "10"))
    line = only_line(calls)
    assert "Tarification · TVA" in line and "10" in line and "Total TTC" in line
    saved = await load_job(short.db, job)
    assert saved.vat_rate == Decimal(10) and saved.wizard_step == "pricing"


# Once the report cannot change, and messages that stored nothing ------------------------


async def test_an_edit_after_submission_asks_the_office_to_return_it(short: Harness) -> None:
    job = await at_review(short)
    async with short.db.sessions() as session:
        given = (
            await session.scalars(select(Answer).where(Answer.target == "field:context"))
        ).one()
    await finish_acceptance(short, job)
    context = {
        "message": {
            "message_id": given.message_id,
            "date": 0,
            "chat": {"id": TECHNICIAN.id, "type": "private", "first_name": "Paul"},
            "from": TECHNICIAN.to_dict(),
            "text": "Contexte",
        }
    }

    calls = await short.feed(short.updates.edited(context, "Contexte corrigé après envoi"))

    line = only_line(calls)
    assert job.number in line and "demandez au bureau de vous le renvoyer" in line
    saved = await load_job(short.db, job)
    assert saved.context == "Contexte" and saved.status == Status.AWAITING_VALIDATION
    assert await answers_of(short, context) == [("field:context", "Contexte")]

    async with short.db.transaction() as session:
        await session.execute(
            update(Intervention).where(Intervention.id == job.id).values(status=Status.VALIDATED)
        )
    calls = await short.feed(short.updates.edited(context, "Encore une correction"))
    assert "validée" in only_line(calls) and "ne peut plus être modifiée" in calls[0].text
    assert (await load_job(short.db, job)).context == "Contexte"


async def test_an_edit_of_a_message_that_stored_nothing_says_so(short: Harness) -> None:
    job = await at_times(short)
    refused = await send(short, TECHNICIAN, "25h")

    calls = await short.feed(short.updates.edited(refused, "17h"))

    assert "n'avait rien enregistré" in only_line(calls)
    saved = await load_job(short.db, job)
    assert saved.ended_at is None and saved.wizard_step == "times"
    assert await answers_of(short, refused) == []
    command = await send(short, TECHNICIAN, "/today")
    assert "n'avait rien enregistré" in only_line(
        await short.feed(short.updates.edited(command, "/list"))
    )
    pin = {"latitude": 48.8686, "longitude": 2.3319, "live_period": 900}
    shared = await send(short, TECHNICIAN, "", location=pin)
    moved = short.updates.edited(shared)
    moved["edited_message"]["location"] = {"latitude": 48.8690, "longitude": 2.3320}
    assert await short.feed(moved) == [], "a live location moving is no correction"


async def test_the_same_edit_delivered_twice_is_harmless(short: Harness) -> None:
    job = await started(short)
    context = await send(short, TECHNICIAN, "Chaudière en pane")
    edit = short.updates.edited(context, "Chaudière en panne")
    await short.feed(edit)

    assert await short.feed(edit) == [], "the same update is handled once"
    again = dict(edit, update_id=edit["update_id"] + 1000)
    calls = await short.feed(again)

    assert "Chaudière en panne" in only_line(calls)
    saved = await load_job(short.db, job)
    assert saved.context == "Chaudière en panne" and saved.wizard_step == "work_done"
    assert await answers_of(short, context) == [("field:context", "Chaudière en panne")]


# Elsewhere ----------------------------------------------------------------------------


async def test_in_the_office_group_a_plan_answer_edited_is_answered_and_chatter_is_not(
    harness: Harness,
) -> None:
    async with harness.db.transaction() as session:
        await users.add(session, DISPATCHER.id, "Sophie", Role.DISPATCHER)
    said = await send(harness, DISPATCHER, "On mange à midi ?", chat_id=OFFICE_CHAT)
    stranger = await send(harness, Person(77, "Inconnu", None, "fr"), "Salut", chat_id=OFFICE_CHAT)
    ask = (await harness.say(DISPATCHER, "/plan", chat_id=OFFICE_CHAT))[-1]
    await harness.press(DISPATCHER, ask, button(ask, "Nouveau client"))
    name = await send(harness, DISPATCHER, "Garage Dupond", chat_id=OFFICE_CHAT)

    calls = await harness.feed(harness.updates.edited(name, "Garage Dupont"))

    line = only_line(calls)
    assert calls[0].chat_id == OFFICE_CHAT and "/plan garde la réponse" in line
    assert await harness.feed(harness.updates.edited(said, "On mange à 13h ?")) == []
    assert await harness.feed(harness.updates.edited(stranger, "Salut à tous")) == []
    assert await harness.deliver() == []
    contact = (await harness.say(DISPATCHER, "M. Dupont", chat_id=OFFICE_CHAT))[-1]
    assert "téléphone" in contact.text.lower(), "/plan goes on where it was"
    async with harness.db.sessions() as session:
        assert (await session.scalars(select(Intervention))).all() == []


async def test_an_edited_client_comment_is_stored_and_the_office_told(short: Harness) -> None:
    _, prompt = await validated(short)
    await short.press(CLIENT, prompt, button(prompt, "★★★★"))
    comment = await send(short, CLIENT, "Technicien ponctuel mais pressé")
    await short.deliver()

    edit = short.updates.edited(comment, "Technicien ponctuel et soigneux")
    calls = await short.feed(edit)

    assert "commentaire est corrigé" in only_line(calls)
    resent = await short.feed(dict(edit, update_id=edit["update_id"] + 1000))
    assert "commentaire est corrigé" in only_line(resent)
    async with short.db.sessions() as session:
        ratings = (await session.scalars(select(Rating))).all()
    assert [(r.score, r.comment) for r in ratings] == [(4, "Technicien ponctuel et soigneux")]
    told = [c for c in await short.deliver() if c.chat_id == OFFICE_CHAT]
    assert len(told) == 1 and "corrigé son commentaire" in told[0].text, "told once"
    assert "ponctuel et soigneux" in told[0].text


async def test_an_edited_visit_request_not_planned_yet_is_corrected(short: Harness) -> None:
    await validated(short)
    await short.say(CLIENT, "/visit")
    described = await send(short, CLIENT, "La chaudière fait du brui")
    await short.deliver()

    calls = await short.feed(short.updates.edited(described, "La chaudière fait du bruit"))

    assert "demande de visite est corrigée" in only_line(calls)
    async with short.db.sessions() as session:
        requests = (await session.scalars(select(VisitRequest))).all()
    assert [r.text for r in requests] == ["La chaudière fait du bruit"]
    told = [c for c in await short.deliver() if c.chat_id == OFFICE_CHAT]
    assert len(told) == 1 and "fait du bruit" in told[0].text


async def test_an_edited_new_client_detail_or_return_comment_is_answered(short: Harness) -> None:
    job, to_office = await submitted(short)
    await short.press(DISPATCHER, to_office, button(to_office, "Renvoyer"))
    comment = await send(short, DISPATCHER, "Photo floue", chat_id=OFFICE_CHAT)
    calls = await short.feed(short.updates.edited(comment, "Photo de la vanne floue"))
    assert "a déjà reçu le commentaire" in only_line(calls) and job.number in calls[0].text
    assert calls[0].chat_id == OFFICE_CHAT

    await short.say(TECHNICIAN, "/cancel")
    await short.say(TECHNICIAN, "/new")
    results = (await short.say(TECHNICIAN, "Garage"))[-1]
    await short.press(TECHNICIAN, results, button(results, "Nouveau client"))
    name = await send(short, TECHNICIAN, "Garage Dupond")
    calls = await short.feed(short.updates.edited(name, "Garage Dupont"))
    assert "/new garde la réponse" in only_line(calls) and "prévenez le bureau" in calls[0].text
