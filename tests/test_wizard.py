"""The technician's wizard: getting to a report, moving through its sections, photos,
and bad input answered without losing anything."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select, update

from reports.rules.templates import load_templates
from storage.models import Attachment, AttachmentKind, Intervention
from tests.conftest import SHORT, TECHNICIAN, Harness, Job, load_job, plan_job, start_job
from tests.mocked import Call, Person, button


def jpeg(width: int = 64, height: int = 48, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG")
    return buffer.getvalue()


async def started(harness: Harness, template: str = "short") -> Job:
    job = await plan_job(harness.db, template=template)
    await start_job(harness, job)
    return job


#: What shows the technician a question: a new message (a picture with its caption),
#: or the message pressed edited into the next question.
SHOWN = ("sendMessage", "editMessageText", "sendPhoto", "editMessageCaption")


def last_text(calls: list[Call]) -> str:
    texts = [c.text or str(c.params.get("caption", "")) for c in calls if c.method in SHOWN]
    assert texts, f"no message in {[c.method for c in calls]}"
    return texts[-1]


def last_message(calls: list[Call]) -> Call:
    messages = [c for c in calls if c.method in SHOWN]
    assert messages
    return messages[-1]


async def test_today_lists_the_job_and_its_card_shows_the_clients_history(
    harness: Harness,
) -> None:
    earlier = await plan_job(harness.db, client_name="Boulangerie Martin")
    async with harness.db.transaction() as session:
        from storage import interventions

        old = await interventions.get(session, earlier.id)
        assert old is not None
        old.work_done = "Remplacement du brûleur"
        old.technician_id = None
    job = await plan_job(harness.db)
    async with harness.db.transaction() as session:
        from storage import interventions

        current = await interventions.get(session, job.id)
        assert current is not None
        current.client_id = earlier.client_id
    listing = (await harness.say(TECHNICIAN, "/today"))[0]
    assert job.number in listing.text and "Boulangerie Martin" in listing.text
    assert "12 rue de la Paix" in listing.text
    card = (await harness.press(TECHNICIAN, listing, button(listing, job.number)))[-1]
    assert "Interventions précédentes" in card.text
    assert earlier.number in card.text and "Remplacement du brûleur" in card.text
    assert button(card, "Commencer")


async def test_start_records_the_arrival_and_stores_the_location_pin(short: Harness) -> None:
    job = await plan_job(short.db, template="short")
    calls = await start_job(short, job)
    assert "commencée" in calls[1].text
    assert calls[1].params["reply_markup"]["keyboard"][0][0]["request_location"] is True
    assert "Étape 1/10 · Contexte" in last_text(calls)
    location = {"latitude": 48.8686, "longitude": 2.3319, "horizontal_accuracy": 12.5}
    calls = await short.say(TECHNICIAN, "", location=location)
    assert "Position enregistrée" in calls[0].text and "12 m" in calls[0].text
    # The first question, just above, is not asked a second time.
    assert [c.text for c in calls if c.chat_id == TECHNICIAN.id and "Étape" in c.text] == []
    saved = await load_job(short.db, job)
    assert saved.started_at is not None and saved.status == "in_progress"
    assert saved.location_lat == pytest.approx(48.8686)
    assert saved.location_accuracy == pytest.approx(12.5)


async def test_each_answer_fills_its_section_and_asks_the_next(short: Harness) -> None:
    job = await started(short)
    calls = await short.say(TECHNICIAN, "Fuite sur le circuit de chauffage")
    assert "Étape 2/10 · Travaux réalisés" in last_text(calls)
    calls = await short.say(TECHNICIAN, "Joint remplacé, circuit purgé")
    assert "Étape 3/10 · Photos" in last_text(calls)
    saved = await load_job(short.db, job)
    assert saved.context == "Fuite sur le circuit de chauffage"
    assert saved.work_done == "Joint remplacé, circuit purgé"
    assert saved.wizard_step == "photos"


async def test_two_answers_sent_at_once_go_to_two_steps_in_order(short: Harness) -> None:
    job = await started(short)
    await short.feed(
        short.updates.message(TECHNICIAN, "Le contexte"),
        short.updates.message(TECHNICIAN, "Les travaux"),
    )
    saved = await load_job(short.db, job)
    assert (saved.context, saved.work_done) == ("Le contexte", "Les travaux")


async def test_a_text_longer_than_one_telegram_message_is_kept_whole(short: Harness) -> None:
    job = await started(short)
    first, rest = "a" * 4096, "b" * 1200
    calls = await short.say(TECHNICIAN, first)
    assert "Texte long reçu (4096 caractères)" in last_text(calls)
    calls = await short.say(TECHNICIAN, rest)
    assert "Étape 2/10" in last_text(calls)
    saved = await load_job(short.db, job)
    assert saved.context == first + "\n" + rest


async def test_a_required_step_cannot_be_skipped_and_an_optional_one_can(short: Harness) -> None:
    await started(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    assert all("Passer" not in text for text, _ in prompt.buttons())
    await short.say(TECHNICIAN, "Contexte")
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Passer"))
    assert "Étape 3/10 · Photos" in last_text(calls)


async def test_a_typed_answer_leaves_its_question_without_buttons_and_asks_below(
    short: Harness,
) -> None:
    await started(short)
    first = last_message(await short.say(TECHNICIAN, "/resume"))
    calls = await short.say(TECHNICIAN, "Fuite sur le circuit de chauffage")
    strip, asked = [c for c in calls if c.chat_id == TECHNICIAN.id]
    # The answered question keeps its text and loses its buttons; the next comes below.
    assert strip.method == "editMessageReplyMarkup" and "reply_markup" not in strip.params
    assert asked.method == "sendMessage" and "Étape 2/10" in asked.text
    assert first.method == "sendMessage"
    # The next answer removes the buttons of that new question (known by its id).
    calls = await short.say(TECHNICIAN, "Joint remplacé")
    assert [c.method for c in calls if c.chat_id == TECHNICIAN.id] == [
        "editMessageReplyMarkup",
        "sendMessage",
    ]


async def test_a_press_that_stays_in_the_step_shows_the_next_question_in_its_place(
    short: Harness,
) -> None:
    await at_times(short)
    prompt = last_message(await short.say(TECHNICIAN, "/resume"))
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Maintenant"))
    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
    assert "Temps travaillé" in calls[1].text and button(calls[1], "C'est juste")


async def test_later_turns_the_question_into_the_paused_notice(short: Harness) -> None:
    await started(short)
    prompt = last_message(await short.say(TECHNICIAN, "/resume"))
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Plus tard"))
    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
    assert "mis de côté" in calls[1].text and calls[1].buttons() == []


async def test_keep_is_the_only_way_on_once_a_text_section_has_its_text(short: Harness) -> None:
    await started(short)
    prompt = last_message(await short.say(TECHNICIAN, "Chaudière en panne"))
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Retour"))
    labels = [text for text, _ in last_message(calls).buttons()]
    assert any("Garder" in label for label in labels)
    assert not any("Passer" in label for label in labels), labels


async def test_an_optional_photo_section_offers_skip_before_a_photo_and_done_after(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db, template="inspection")
    await start_job(harness, job)
    async with harness.db.transaction() as session:
        await session.execute(
            update(Intervention).where(Intervention.id == job.id).values(wizard_step="photos")
        )
    prompt = last_message(await harness.say(TECHNICIAN, "/resume"))
    labels = [text for text, _ in prompt.buttons()]
    assert any("Passer" in label for label in labels)
    assert not any("Terminé" in label for label in labels), labels
    await harness.feed(harness.updates.photo(TECHNICIAN, harness.session, jpeg()))
    count = last_message(await harness.deliver(now=True))
    labels = [text for text, _ in count.buttons()]
    assert "✅ Terminé (1)" in labels and not any("Passer" in label for label in labels)


async def test_back_returns_to_the_previous_step_with_its_answer_shown(short: Harness) -> None:
    await started(short)
    prompt = last_message(await short.say(TECHNICIAN, "Chaudière en panne"))
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Retour"))
    assert "Étape 1/10" in last_text(calls) and "Chaudière en panne" in last_text(calls)
    calls = await short.press(
        TECHNICIAN, last_message(calls), button(last_message(calls), "Garder")
    )
    assert "Étape 2/10" in last_text(calls)


async def test_a_sticker_gets_what_is_expected(short: Harness) -> None:
    """(A voice message is kept as a voice note of the section: tests/test_voice.py.)"""
    job = await started(short)
    sticker = {
        "file_id": "s1",
        "file_unique_id": "us1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    calls = await short.say(TECHNICIAN, "", sticker=sticker)
    assert "J'attends du texte" in calls[0].text
    assert (await load_job(short.db, job)).wizard_step is None


async def go_to_photos(harness: Harness) -> Job:
    job = await started(harness)
    await harness.say(TECHNICIAN, "Contexte")
    await harness.say(TECHNICIAN, "Travaux")
    return job


async def attachments_of(harness: Harness, job: Job) -> list[Attachment]:
    async with harness.db.sessions() as session:
        query = select(Attachment).where(Attachment.intervention_id == job.id)
        return list((await session.scalars(query.order_by(Attachment.id))).all())


async def test_an_album_of_ten_photos_is_ten_photos_and_one_confirmation(short: Harness) -> None:
    job = await go_to_photos(short)
    album = [
        short.updates.photo(
            TECHNICIAN, short.session, jpeg(color=f"#{n * 20:02x}4080"), media_group_id="A1"
        )
        for n in range(10)
    ]
    calls = await short.feed(*album)
    assert [c for c in calls if c.method == "sendMessage"] == []
    assert len([c for c in calls if c.method == "download"]) == 10
    confirmations = [c for c in await short.deliver(now=True) if c.chat_id == TECHNICIAN.id]
    assert len(confirmations) == 1
    assert "10 photos enregistrées" in confirmations[0].text
    kept = await attachments_of(short, job)
    assert len(kept) == 10 and all(a.kind == AttachmentKind.PHOTO for a in kept)
    for attachment in kept:
        assert short.files.absolute(attachment.path).read_bytes()[:2] == b"\xff\xd8"
        assert attachment.file_unique_id and attachment.sha256 and attachment.received_at
    prepared = list((short.files.root / "cache" / "photos").iterdir())
    assert len(prepared) == 10, "each photo is prepared for the report on arrival"


async def test_the_photo_count_is_edited_below_its_burst_and_sent_anew_after(
    short: Harness,
) -> None:
    await go_to_photos(short)
    prompt = last_message(await short.say(TECHNICIAN, "/resume"))
    await short.feed(short.updates.photo(TECHNICIAN, short.session, jpeg(color="red")))
    (count,) = [c for c in await short.deliver(now=True) if c.chat_id == TECHNICIAN.id]
    # The photo step's question, just above the photo, now counts it.
    assert count.method == "editMessageText" and "1 photo enregistrée" in count.text
    assert button(count, "Terminé (1)") and prompt.method == "sendMessage"
    calls = await short.feed(short.updates.photo(TECHNICIAN, short.session, jpeg(color="blue")))
    calls += await short.deliver(now=True)
    strip, below = [c for c in calls if c.chat_id == TECHNICIAN.id]
    # A second burst: the count comes below it, and the one above loses its buttons.
    assert strip.method == "editMessageReplyMarkup" and "reply_markup" not in strip.params
    assert below.method == "sendMessage" and "Au total : 2 photos" in below.text
    assert button(below, "Terminé (2)")


async def test_the_same_photo_sent_twice_is_kept_once(short: Harness) -> None:
    job = await go_to_photos(short)
    photo = jpeg()
    await short.feed(short.updates.photo(TECHNICIAN, short.session, photo, file_id="same"))
    await short.feed(short.updates.photo(TECHNICIAN, short.session, photo, file_id="same"))
    sent = await short.deliver(now=True)
    assert "déjà reçue" in sent[-1].text
    assert len(await attachments_of(short, job)) == 1


async def test_photos_keep_their_caption_and_before_after_tag(short: Harness) -> None:
    job = await go_to_photos(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "Avant"))
    await short.feed(
        short.updates.photo(TECHNICIAN, short.session, jpeg(), caption="Vanne fuyarde")
    )
    (kept,) = await attachments_of(short, job)
    assert (kept.caption, kept.tag) == ("Vanne fuyarde", "before")


async def test_a_pdf_plan_is_kept_as_an_attachment(short: Harness) -> None:
    job = await go_to_photos(short)
    update = short.updates.document(
        TECHNICIAN, short.session, b"%PDF-1.7\n...", "plan-chaufferie.pdf", "application/pdf"
    )
    await short.feed(update)
    (kept,) = await attachments_of(short, job)
    assert kept.kind == AttachmentKind.DOCUMENT and kept.file_name == "plan-chaufferie.pdf"
    assert kept.path.endswith(".pdf")
    sent = await short.deliver(now=True)
    assert "1 document gardé" in sent[-1].text


@pytest.mark.parametrize(
    ("data", "name", "mime", "expected"),
    [
        (jpeg()[:200], "IMG_0001.jpg", "image/jpeg", "abîmée ou incomplète"),
        (b"not an image at all", "photo.jpg", "image/jpeg", "pas une image"),
    ],
)
async def test_a_broken_image_is_refused_with_a_reason(
    short: Harness, data: bytes, name: str, mime: str, expected: str
) -> None:
    job = await go_to_photos(short)
    calls = await short.feed(short.updates.document(TECHNICIAN, short.session, data, name, mime))
    assert expected in last_text(calls)
    assert await attachments_of(short, job) == []


async def test_a_decompression_bomb_is_refused(short: Harness) -> None:
    job = await go_to_photos(short)
    buffer = io.BytesIO()
    Image.new("1", (12_000, 9_000)).save(buffer, "PNG")
    update = short.updates.document(
        TECHNICIAN, short.session, buffer.getvalue(), "bomb.png", "image/png"
    )
    calls = await short.feed(update)
    assert "beaucoup trop grande" in last_text(calls)
    assert await attachments_of(short, job) == []


async def test_a_file_over_the_download_limit_is_explained(short: Harness) -> None:
    job = await go_to_photos(short)
    update = short.updates.document(
        TECHNICIAN,
        short.session,
        b"x",
        "video-chantier.mov",
        "video/quicktime",
        file_size=25 * 1024 * 1024,
    )
    calls = await short.feed(update)
    assert "dépasse 20 Mo" in last_text(calls)
    assert [c.method for c in calls if c.method == "download"] == []
    assert await attachments_of(short, job) == []


async def test_an_iphone_heic_sent_as_a_file_is_accepted(short: Harness) -> None:
    from reports.images import register_heif

    register_heif()
    buffer = io.BytesIO()
    try:
        Image.new("RGB", (64, 48), "blue").save(buffer, "HEIF")
    except (KeyError, OSError) as exc:  # pragma: no cover - depends on libheif build
        pytest.skip(f"this pillow-heif cannot write HEIC: {exc}")
    job = await go_to_photos(short)
    update = short.updates.document(
        TECHNICIAN, short.session, buffer.getvalue(), "IMG_4242.HEIC", "image/heic"
    )
    await short.feed(update)
    (kept,) = await attachments_of(short, job)
    assert kept.kind == AttachmentKind.PHOTO and kept.path.endswith(".heic")


async def test_a_photo_sent_where_text_is_expected_is_kept_for_the_photos(
    short: Harness,
) -> None:
    job = await started(short)
    await short.feed(short.updates.photo(TECHNICIAN, short.session, jpeg()))
    sent = await short.deliver(now=True)
    assert "Gardé pour la section Photos" in sent[-1].text and "Contexte" in sent[-1].text
    assert len(await attachments_of(short, job)) == 1
    assert (await load_job(short.db, job)).context is None


async def test_text_where_photos_are_expected_says_what_is_expected(short: Harness) -> None:
    await go_to_photos(short)
    calls = await short.say(TECHNICIAN, "voici la photo")
    assert "J'attends des photos" in calls[0].text


async def test_photos_done_without_any_photo_is_refused_when_required(short: Harness) -> None:
    await go_to_photos(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Terminé"))
    assert "au moins une photo" in calls[0].params["text"]


async def finish_photos(harness: Harness) -> Job:
    job = await go_to_photos(harness)
    await harness.feed(harness.updates.photo(TECHNICIAN, harness.session, jpeg()))
    await harness.deliver(now=True)
    prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
    await harness.press(TECHNICIAN, prompt, button(prompt, "Terminé"))
    return job


async def test_results_then_times_with_french_formats(short: Harness) -> None:
    job = await finish_photos(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    assert "Étape 4/10 · Résultats" in prompt.text
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "En partie"))
    calls = await short.say(TECHNICIAN, "Pression à surveiller")
    assert "Étape 5/10 · Remarques" in last_text(calls)
    prompt = last_message(calls)
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Passer"))
    assert "Étape 6/10 · Heures" in last_text(calls)
    saved = await load_job(short.db, job)
    assert saved.results_met == "partly" and saved.results_comment == "Pression à surveiller"


async def at_times(harness: Harness) -> Job:
    job = await finish_photos(harness)
    prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
    await harness.press(TECHNICIAN, prompt, button(prompt, "Oui"))
    prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
    await harness.press(TECHNICIAN, prompt, button(prompt, "Pas de commentaire"))
    prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
    await harness.press(TECHNICIAN, prompt, button(prompt, "Passer"))
    return job


@pytest.mark.parametrize("text", ["25h", "14h75", "demain midi et quart"])
async def test_a_time_that_makes_no_sense_is_refused_and_the_step_stays(
    short: Harness, text: str
) -> None:
    job = await at_times(short)
    calls = await short.say(TECHNICIAN, text)
    assert "Je n'ai pas compris" in calls[0].text
    saved = await load_job(short.db, job)
    assert saved.wizard_step == "times" and saved.ended_at is None


async def test_an_end_time_before_the_arrival_is_refused(short: Harness) -> None:
    job = await at_times(short)
    saved = await load_job(short.db, job)
    assert saved.started_at is not None
    calls = await short.say(TECHNICIAN, "00:01")
    assert "après l'arrivée" in calls[0].text


async def test_hours_travel_and_pricing_in_french_formats(short: Harness) -> None:
    job = await at_times(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Maintenant"))
    assert "Temps travaillé" in last_text(calls)
    await short.say(TECHNICIAN, "2h30")
    calls = await short.say(TECHNICIAN, "45,50 €")
    summary = last_text(calls)
    assert "Étape 7/10 · Tarification" in summary
    assert "2\u00a0h\u00a030 (2,5\u00a0h) × 60,00\u00a0€ = <b>150,00\u00a0€</b>" in summary
    assert "Déplacement : <b>45,50\u00a0€</b>" in summary
    assert "Total TTC : <b>234,60\u00a0€</b>" in summary
    prompt = last_message(calls)
    await short.press(TECHNICIAN, prompt, button(prompt, "TVA"))
    calls = await short.say(TECHNICIAN, "5,5 %")
    assert "TVA 5,5" in last_text(calls) and "206,25" in last_text(calls)
    saved = await load_job(short.db, job)
    assert saved.worked_hours == Decimal("2.5") and saved.travel_flat == Decimal("45.50")
    assert saved.vat_rate == Decimal("5.5")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-3", "ne peut pas être négatif"),
        ("30", "Plus de 24 heures de travail"),
        ("0", "Ce temps de travail est nul"),
        ("deux heures", "Je n'ai pas compris ce temps de travail"),
    ],
)
async def test_absurd_hours_are_refused(short: Harness, text: str, expected: str) -> None:
    job = await at_times(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "Maintenant"))
    calls = await short.say(TECHNICIAN, text)
    assert expected in calls[0].text
    assert (await load_job(short.db, job)).wizard_step == "times"


async def test_the_review_edits_a_section_and_comes_back(short: Harness) -> None:
    job = await at_times(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "Maintenant"))
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "C'est juste"))
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "Pas de déplacement"))
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Valider"))
    review = last_message(calls)
    assert "Étape 8/10 · Relecture" in review.text and "Contexte" in review.text
    calls = await short.press(TECHNICIAN, review, button(review, "✏️ Contexte"))
    assert "Étape 1/10 · Contexte" in last_text(calls)
    calls = await short.say(TECHNICIAN, "Contexte corrigé")
    assert "Étape 8/10 · Relecture" in last_text(calls)
    assert "Contexte corrigé" in last_text(calls)
    assert (await load_job(short.db, job)).context == "Contexte corrigé"


async def test_the_report_resumes_where_it_stopped_after_a_restart(short: Harness) -> None:
    job = await go_to_photos(short)
    restarted = Harness(short.db, short.files, short.options, short.templates)
    restarted.updates = short.updates
    calls = await restarted.say(TECHNICIAN, "/resume")
    # One message: which report the answers go to, and its current question.
    assert "Vos réponses vont maintenant" in last_text(calls)
    assert job.number in last_text(calls) and "Étape 3/10 · Photos" in last_text(calls)
    await restarted.bot.session.close()


async def test_pause_keeps_everything_and_resume_continues(short: Harness) -> None:
    job = await started(short)
    await short.say(TECHNICIAN, "Contexte gardé")
    assert "mis de côté" in last_text(await short.say(TECHNICIAN, "/cancel"))
    assert "Aucun rapport n'est ouvert" in (await short.say(TECHNICIAN, "bonjour"))[0].text
    calls = await short.say(TECHNICIAN, "/resume")
    assert "Étape 2/10" in last_text(calls)
    assert (await load_job(short.db, job)).context == "Contexte gardé"


async def test_a_button_of_another_technicians_intervention_is_refused(short: Harness) -> None:
    mine = await started(short)
    other_tech = Person(21, "Léa", "lea_tech", "fr")
    theirs = await plan_job(
        short.db, template="short", technician=other_tech, client_name="Secret SA"
    )
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    forged = button(prompt, "Plus tard").replace(f"w:{mine.id}:", f"w:{theirs.id}:")
    calls = await short.press(TECHNICIAN, prompt, forged)
    assert calls[0].params["text"] == "Vous n'avez pas accès à cette action."
    assert all("Secret SA" not in c.text for c in calls)


async def test_a_button_from_an_earlier_step_gets_a_polite_answer(short: Harness) -> None:
    await started(short)
    old = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.say(TECHNICIAN, "Contexte")
    calls = await short.press(TECHNICIAN, old, button(old, "Plus tard"))
    assert "n'est plus actif" in calls[0].params["text"]
    # The current question is already in the chat: it is not asked a second time.
    assert [c.method for c in calls] == ["answerCallbackQuery"]


def test_the_four_shipped_templates_load() -> None:
    templates = load_templates()
    assert set(templates) == {"installation", "maintenance", "repair", "inspection"}
    maintenance = templates["maintenance"]
    assert [s.key for s in maintenance.steps()][4] == "parts"
    assert len(maintenance.steps()) == 13
    assert maintenance.checklist_labels("en")[0] == "Lock-out and power cut"


def test_a_company_template_folder_adds_and_replaces(tmp_path: Path) -> None:
    (tmp_path / "repair.toml").write_text(SHORT, encoding="utf-8")
    (tmp_path / "ramonage.toml").write_text(SHORT.replace("repair", "sweep"), encoding="utf-8")
    templates = load_templates(tmp_path)
    assert templates["repair"].title("fr") == "Dépannage court"
    assert "ramonage" in templates and "maintenance" in templates


def test_a_broken_template_is_named_with_its_problem(tmp_path: Path) -> None:
    from reports.rules.templates import TemplateError

    (tmp_path / "bad.toml").write_text('[sections]\nsoldering = "required"\n', encoding="utf-8")
    with pytest.raises(TemplateError, match=r"bad\.toml: unknown section 'soldering'"):
        load_templates(tmp_path)


def signature_photo() -> bytes:
    """A dark scribble on light paper, photographed."""
    from PIL import ImageDraw

    image = Image.new("RGB", (800, 500), (235, 232, 225))
    draw = ImageDraw.Draw(image)
    points = [(100 + x * 6, 250 + int(60 * ((x % 20) - 10) / 10)) for x in range(100)]
    draw.line(points, fill=(20, 25, 60), width=6)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def at_review(harness: Harness) -> Job:
    job = await at_times(harness)
    await times_to_review(harness)
    return job


async def times_to_review(harness: Harness) -> None:
    """From the times, now, to the review: the hours as counted, no travel, the price."""
    for choice in ("Maintenant", "C'est juste", "Pas de déplacement", "Valider"):
        prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
        await harness.press(TECHNICIAN, prompt, button(prompt, choice))


async def test_acceptance_signatures_and_submission_make_the_pdf(short: Harness) -> None:
    from pypdf import PdfReader

    from storage.models import IssuedReport, Signature

    job = await at_review(short)
    review = (await short.say(TECHNICIAN, "/resume"))[-1]
    calls = await short.press(TECHNICIAN, review, button(review, "Continuer"))
    assert "Étape 9/10 · Réception des travaux" in last_text(calls)
    prompt = last_message(calls)
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Mme Martin"))
    prompt = last_message(calls)
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Avec réserves"))
    calls = await short.say(TECHNICIAN, "Peinture à reprendre autour du radiateur")
    assert "Faites signer Mme Martin" in last_text(calls)
    blank = io.BytesIO()
    Image.new("RGB", (400, 300), (240, 240, 240)).save(blank, "JPEG")
    calls = await short.feed(short.updates.photo(TECHNICIAN, short.session, blank.getvalue()))
    assert "Je ne vois pas de signature" in last_text(calls)
    calls = await short.feed(short.updates.photo(TECHNICIAN, short.session, signature_photo()))
    # The cleaned signature is shown back as a picture, the question as its caption.
    (cleaned,) = [c for c in calls if c.method in ("sendPhoto", "sendDocument")]
    assert cleaned.method == "sendPhoto" and "lisible" in cleaned.params["caption"]
    calls = await short.press(TECHNICIAN, cleaned, button(cleaned, "Oui, continuer"))
    assert "Signez sur une feuille blanche" in last_text(calls)
    calls = await short.feed(short.updates.photo(TECHNICIAN, short.session, signature_photo()))
    assert "Étape 10/10 · Envoi" in last_text(calls)
    prompt = last_message(calls)
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Envoyer le rapport"))
    assert "envoyé au bureau pour validation" in last_text(calls)

    saved = await load_job(short.db, job)
    assert saved.status == "awaiting_validation"
    assert saved.client_signer_name == "Mme Martin" and saved.accepted_with_reservations
    report = [a for a in saved.attachments if a.kind == AttachmentKind.REPORT]
    assert len(report) == 1
    pdf = short.files.read(report[0].path)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert job.number in text and "Boulangerie Martin" in text
    assert "Peinture à reprendre" in text
    async with short.db.sessions() as session:
        issued = (await session.scalars(select(IssuedReport))).all()
        signatures = (await session.scalars(select(Signature))).all()
    assert len(issued) == 1 and issued[0].sha256 == report[0].sha256
    assert issued[0].code in text.replace("\n", " ")
    assert {s.signer for s in signatures if s.intervention_id == job.id} == {
        "client",
        "technician",
    }
    sent = await short.deliver()
    documents = [c for c in sent if c.method == "sendDocument"]
    assert {c.chat_id for c in documents} == {TECHNICIAN.id, short.options.office_chat_id}


async def test_a_technicians_signature_is_captured_once_and_reused(short: Harness) -> None:
    from storage.models import Signature

    first = await at_review(short)
    await finish_acceptance(short, first)
    second = await plan_job(short.db, template="short", client_name="Hôtel du Parc")
    await start_job(short, second)
    await short.say(TECHNICIAN, "Contexte")
    await short.say(TECHNICIAN, "Travaux")
    await short.feed(short.updates.photo(TECHNICIAN, short.session, jpeg()))
    await short.deliver(now=True)
    for choice in (
        "Terminé",
        "Oui",
        "Pas de commentaire",
        "Passer",
        "Maintenant",
        "C'est juste",
        "Pas de déplacement",
        "Valider",
        "Continuer",
        "Mme Martin",
        "Sans réserve",
    ):
        prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
        await short.press(TECHNICIAN, prompt, button(prompt, choice))
    await short.feed(short.updates.photo(TECHNICIAN, short.session, signature_photo()))
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Oui, continuer"))
    assert "Votre signature enregistrée" in last_text(calls)
    prompt = last_message(calls)
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Utiliser ma signature"))
    assert "Étape 10/10" in last_text(calls)
    async with short.db.sessions() as session:
        own = (
            await session.scalars(select(Signature).where(Signature.signer == "technician"))
        ).all()
    reusable = [s for s in own if s.intervention_id is None]
    assert len(reusable) == 1
    assert {s.attachment_id for s in own} == {reusable[0].attachment_id}


async def finish_acceptance(harness: Harness, job: Job) -> None:
    for choice in ("Continuer", "Mme Martin", "Sans réserve"):
        prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
        await harness.press(TECHNICIAN, prompt, button(prompt, choice))
    await harness.feed(harness.updates.photo(TECHNICIAN, harness.session, signature_photo()))
    prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
    await harness.press(TECHNICIAN, prompt, button(prompt, "Oui, continuer"))
    await harness.feed(harness.updates.photo(TECHNICIAN, harness.session, signature_photo()))
    prompt = (await harness.say(TECHNICIAN, "/resume"))[-1]
    await harness.press(TECHNICIAN, prompt, button(prompt, "Envoyer le rapport"))
    assert (await load_job(harness.db, job)).status == "awaiting_validation"


async def test_a_report_sent_back_is_told_authentic_modified_or_unknown(short: Harness) -> None:
    from storage.models import IssuedReport

    job = await at_review(short)
    await finish_acceptance(short, job)
    saved = await load_job(short.db, job)
    (report,) = [a for a in saved.attachments if a.kind == AttachmentKind.REPORT]
    pdf = short.files.read(report.path)
    office = Person(30, "Sophie", None, "fr")
    async with short.db.transaction() as session:
        from storage import users
        from storage.models import Role

        await users.add(session, office.id, "Sophie", Role.DISPATCHER)
        code = (await session.scalars(select(IssuedReport))).one().code

    def sent_back(data: bytes) -> dict[str, Any]:
        return short.updates.document(office, short.session, data, "rapport.pdf", "application/pdf")

    calls = await short.feed(sent_back(pdf))
    assert "Rapport authentique" in last_text(calls) and job.number in last_text(calls)
    tampered = pdf + b"\n% one byte changed is enough\n"
    calls = await short.feed(sent_back(tampered))
    assert "a été modifié" in last_text(calls) and code in last_text(calls)
    calls = await short.feed(sent_back(b"%PDF-1.4\n%%EOF\n"))
    assert "n'est pas un rapport émis" in last_text(calls)
    # A technician with no report open checks with /verify.
    assert "Envoyez le rapport PDF" in last_text(await short.say(TECHNICIAN, "/verify"))
    calls = await short.feed(
        short.updates.document(TECHNICIAN, short.session, pdf, "r.pdf", "application/pdf")
    )
    assert "Rapport authentique" in last_text(calls)


async def test_back_inside_a_step_returns_to_its_first_question(short: Harness) -> None:
    job = await finish_photos(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "En partie"))
    assert "Un commentaire" in last_text(calls)
    prompt = last_message(calls)
    calls = await short.press(TECHNICIAN, prompt, button(prompt, "Retour"))
    assert "Étape 4/10 · Résultats" in last_text(calls) and "● ◐ En partie" in str(
        last_message(calls).buttons()
    )
    assert (await load_job(short.db, job)).results_met == "partly"
