"""Voice notes: a voice message (or an audio file) sent in a text section is kept with
that section, once; the technician reads that it is kept and that the report prints
the typed text; the report's annex lists it; the office plays it from /find."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from typing import Any

from pypdf import PdfReader
from sqlalchemy import select, update

from handlers.callbacks import PlayVoiceNotes
from reports.data import VoiceNote
from reports.formatting import Formatter, recording_length
from reports.pdf import build_report
from reports.sample import sample_report
from storage import users
from storage.models import VOICE_NOTE_KINDS, Attachment, AttachmentKind, Role
from tests.conftest import TECHNICIAN, Harness, Job, load_job, plan_job, texts
from tests.mocked import Call, Person, button
from tests.test_wizard import (
    at_review,
    finish_acceptance,
    finish_photos,
    go_to_photos,
    jpeg,
    last_text,
    started,
    times_to_review,
)

VOICE_NOT_KEPT = (
    "🎙 Note vocale non gardée : je garde les notes vocales pendant une section de texte "
    "(contexte, objectif, méthodes, travaux réalisés, commentaire des résultats, remarques)."
)
OGG = b"OggS\x00\x02" + bytes(range(200))
DISPATCHER = Person(30, "Sophie", "sophie_bureau", "fr")
CLIENT = Person(40, "Élodie", "elodie_m", "fr")
ENGLISH_TECHNICIAN = Person(22, "Sam", "sam_tech", "en")


def kept_text(length: str, section: str) -> str:
    return (
        f"🎙 Note vocale ({length}) gardée avec « {section} », pour le bureau. "
        "Le rapport n'imprime que le texte tapé : écrivez-le ici."
    )


async def voice_notes_of(harness: Harness, job: Job) -> list[Attachment]:
    async with harness.db.sessions() as session:
        query = select(Attachment).where(
            Attachment.intervention_id == job.id, Attachment.kind.in_(VOICE_NOTE_KINDS)
        )
        return list((await session.scalars(query.order_by(Attachment.id))).all())


async def all_attachments(harness: Harness) -> list[Attachment]:
    async with harness.db.sessions() as session:
        return list((await session.scalars(select(Attachment))).all())


def downloads(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method == "download"]


def sent_at(update: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromtimestamp(update["message"]["date"], dt.UTC)


# The technician -----------------------------------------------------------------------


async def test_a_voice_note_in_a_text_step_is_kept_with_its_section_and_the_step_stays(
    short: Harness,
) -> None:
    job = await started(short)
    sent = short.updates.voice(TECHNICIAN, short.session, OGG, 42)
    calls = await short.feed(sent)
    assert texts(calls) == [kept_text("0:42", "Contexte")], "one short line, no question again"
    assert len(downloads(calls)) == 1
    (note,) = await voice_notes_of(short, job)
    assert (note.kind, note.section, note.duration) == (AttachmentKind.VOICE, "context", 42)
    assert note.received_at == sent_at(sent)
    assert note.file_id == sent["message"]["voice"]["file_id"]
    assert note.path.endswith(".ogg") and short.files.absolute(note.path).read_bytes() == OGG
    saved = await load_job(short.db, job)
    assert saved.context is None and saved.wizard_step is None, "the step stays"

    calls = await short.say(TECHNICIAN, "Fuite au circulateur")
    assert "Étape 2/10 · Travaux réalisés" in last_text(calls)
    assert (await load_job(short.db, job)).context == "Fuite au circulateur"


async def test_an_audio_file_in_a_text_step_is_kept_as_a_voice_note(short: Harness) -> None:
    job = await started(short)
    await short.say(TECHNICIAN, "Contexte")
    memo = short.updates.voice(TECHNICIAN, short.session, b"ID3 memo", 75, audio="memo.mp3")
    calls = await short.feed(memo)
    assert texts(calls) == [kept_text("1:15", "Travaux réalisés")]
    (note,) = await voice_notes_of(short, job)
    assert (note.kind, note.section, note.duration) == (AttachmentKind.AUDIO, "work_done", 75)
    assert note.file_name == "memo.mp3" and note.path.endswith(".mp3")


async def test_a_voice_note_on_the_comment_of_the_results_is_kept_with_the_results(
    short: Harness,
) -> None:
    job = await go_to_photos(short)
    await short.feed(short.updates.photo(TECHNICIAN, short.session, jpeg()))
    await short.deliver(now=True)
    for choice in ("Terminé", "Oui"):
        prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
        await short.press(TECHNICIAN, prompt, button(prompt, choice))
    calls = await short.feed(short.updates.voice(TECHNICIAN, short.session, OGG, 65))
    assert texts(calls) == [kept_text("1:05", "Résultats")]
    (note,) = await voice_notes_of(short, job)
    assert note.section == "results"
    saved = await load_job(short.db, job)
    assert (saved.wizard_step, saved.wizard_data.get("stage")) == ("results", "comment")


async def test_a_technician_reading_english_is_told_in_english(short: Harness) -> None:
    job = await plan_job(short.db, template="short", technician=ENGLISH_TECHNICIAN)
    listing = (await short.say(ENGLISH_TECHNICIAN, "/today"))[0]
    card = (await short.press(ENGLISH_TECHNICIAN, listing, button(listing, job.number)))[-1]
    await short.press(ENGLISH_TECHNICIAN, card, button(card, "Start"))
    calls = await short.feed(short.updates.voice(ENGLISH_TECHNICIAN, short.session, OGG, 7))
    assert texts(calls) == [
        '🎙 Voice note (0:07) kept with "Context", for the office. '
        "The report prints typed text only: type it here."
    ]
    assert len(await voice_notes_of(short, job)) == 1


async def test_a_voice_note_sent_twice_is_kept_once(short: Harness) -> None:
    job = await started(short)
    await short.feed(short.updates.voice(TECHNICIAN, short.session, OGG, 42, file_id="same"))
    await short.say(TECHNICIAN, "Contexte")
    again = short.updates.voice(TECHNICIAN, short.session, OGG, 42, file_id="same")
    calls = await short.feed(again)
    assert texts(calls) == [
        "♻️ Cette note vocale est déjà gardée avec « Contexte » : gardée une seule fois."
    ]
    assert downloads(calls) == [], "not fetched again"
    assert len(await voice_notes_of(short, job)) == 1
    assert (await load_job(short.db, job)).wizard_step == "work_done"


async def test_a_voice_note_whose_update_comes_twice_is_handled_once(short: Harness) -> None:
    job = await started(short)
    sent = short.updates.voice(TECHNICIAN, short.session, OGG, 42)
    await short.feed(sent)
    calls = await short.feed(sent)
    assert calls == [], "nothing downloaded, stored or said again"
    assert len(await voice_notes_of(short, job)) == 1


async def test_a_voice_note_in_the_photos_is_not_kept_and_says_what_is_expected(
    short: Harness,
) -> None:
    job = await go_to_photos(short)
    calls = await short.feed(short.updates.voice(TECHNICIAN, short.session, OGG, 5))
    assert texts(calls) == [
        f"{VOICE_NOT_KEPT}\nJ'attends des photos (ou un fichier). "
        "Appuyez sur « Terminé » quand c'est fini."
    ]
    assert downloads(calls) == []
    assert await all_attachments(short) == []
    assert (await load_job(short.db, job)).wizard_step == "photos"


async def test_a_voice_note_at_the_acceptance_is_not_kept_and_the_step_stays(
    short: Harness,
) -> None:
    job = await at_review(short)
    review = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, review, button(review, "Continuer"))
    calls = await short.feed(short.updates.voice(TECHNICIAN, short.session, OGG, 5))
    (said,) = texts(calls)
    assert said.startswith(VOICE_NOT_KEPT + "\n")
    assert downloads(calls) == []
    assert await voice_notes_of(short, job) == []
    assert (await load_job(short.db, job)).wizard_step == "acceptance"


async def test_a_voice_note_with_no_report_open_is_not_kept(short: Harness) -> None:
    await plan_job(short.db, template="short")  # registers the technician
    calls = await short.feed(short.updates.voice(TECHNICIAN, short.session, OGG, 5))
    assert texts(calls) == [
        "🎙 Note vocale non gardée : aucun rapport n'est ouvert. "
        "Ouvrez-en un (/today, /list) et envoyez-la pendant une section de texte."
    ]
    assert downloads(calls) == []
    assert await all_attachments(short) == []


async def test_a_voice_note_over_the_download_limit_is_explained(short: Harness) -> None:
    job = await started(short)
    big = short.updates.voice(TECHNICIAN, short.session, OGG, 1800, file_size=25 * 1024 * 1024)
    calls = await short.feed(big)
    assert texts(calls) == [
        "🎙 Cette note vocale dépasse 20 Mo, la limite de téléchargement de Telegram pour les "
        "bots : je ne peux pas la garder. Enregistrez-en une plus courte, ou tapez le texte."
    ]
    assert downloads(calls) == []
    assert await voice_notes_of(short, job) == []


async def test_a_voice_note_telegram_refuses_as_too_big_is_explained(short: Harness) -> None:
    job = await started(short)
    short.session.fail_next("getFile", 400, "Bad Request: file is too big")
    calls = await short.feed(short.updates.voice(TECHNICIAN, short.session, OGG, 600))
    assert "dépasse 20 Mo" in last_text(calls)
    assert await voice_notes_of(short, job) == []


async def test_a_voice_note_telegram_no_longer_has_is_asked_for_again(short: Harness) -> None:
    job = await started(short)
    short.session.fail_download_next(404)
    calls = await short.feed(short.updates.voice(TECHNICIAN, short.session, OGG, 5))
    assert texts(calls) == [
        "🎙 Telegram ne me donne plus cette note vocale : renvoyez-la, s'il vous plaît."
    ]
    assert await voice_notes_of(short, job) == []


async def test_a_voice_note_whose_download_meets_a_502_is_kept_once(short: Harness) -> None:
    job = await started(short)
    short.session.fail_download_next(502)
    calls = await short.feed(short.updates.voice(TECHNICIAN, short.session, OGG, 9))
    assert [c.failed for c in downloads(calls)] == [True, False]
    (note,) = await voice_notes_of(short, job)
    assert short.files.absolute(note.path).read_bytes() == OGG
    assert texts(calls) == [kept_text("0:09", "Contexte")]


# The report ----------------------------------------------------------------------------


def test_a_recording_length_reads_as_a_player_shows_it() -> None:
    assert [recording_length(s) for s in (0, 7, 42, 65, 725, 3723)] == [
        "0:00",
        "0:07",
        "0:42",
        "1:05",
        "12:05",
        "1:02:03",
    ]


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_annex_lists_the_voice_notes_in_english_and_french() -> None:
    moment = dt.datetime(2026, 11, 22, 9, 25, tzinfo=dt.UTC)
    notes = (VoiceNote("work_done", 42, moment), VoiceNote("results", 3723, None))
    english = replace(sample_report("en"), voice_notes=notes)
    text = _pdf_text(build_report(english))
    assert "Voice notes" in text and "Section Length Received" in text
    assert "Work done 0:42 22 Nov 2026, 10:25" in text
    assert "Results 1:02:03 —" in text
    assert "the report prints the typed text" in text
    french = replace(sample_report("fr"), voice_notes=notes)
    text = _pdf_text(build_report(french))
    assert "Notes vocales" in text and "Section Durée Reçue le" in text
    assert "Travaux réalisés 0:42 22/11/2026 10:25" in text


def test_a_report_without_voice_notes_has_no_such_annex() -> None:
    data = replace(sample_report("fr"), voice_notes=())
    assert "Notes vocales" not in _pdf_text(build_report(data))


async def test_the_submitted_report_lists_the_voice_notes_of_its_sections(
    short: Harness,
) -> None:
    job = await finish_photos(short)
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "Oui"))
    await short.feed(short.updates.voice(TECHNICIAN, short.session, OGG, 65))
    prompt = (await short.say(TECHNICIAN, "/resume"))[-1]
    await short.press(TECHNICIAN, prompt, button(prompt, "Pas de commentaire"))
    await short.feed(short.updates.voice(TECHNICIAN, short.session, OGG, 42))
    await short.say(TECHNICIAN, "Rien à signaler")
    await times_to_review(short)
    await finish_acceptance(short, job)
    saved = await load_job(short.db, job)
    (report,) = [a for a in saved.attachments if a.kind == AttachmentKind.REPORT]
    text = _pdf_text(short.files.read(report.path))
    first, second = await voice_notes_of(short, job)
    fmt = Formatter("fr", "Europe/Paris")
    assert "Notes vocales" in text and "Rien à signaler" in text
    assert f"Résultats 1:05 {fmt.datetime(first.received_at)}" in text
    assert f"Remarques et recommandations 0:42 {fmt.datetime(second.received_at)}" in text


# The office ----------------------------------------------------------------------------


async def with_voice_notes(harness: Harness) -> Job:
    """A report under way with a voice note in its context (with a caption) and an audio
    file in its work done; a dispatcher registered."""
    async with harness.db.transaction() as session:
        await users.add(session, DISPATCHER.id, DISPATCHER.first_name, Role.DISPATCHER)
    job = await started(harness)
    spoken = harness.updates.voice(
        TECHNICIAN, harness.session, OGG, 42, file_id="V1", caption="Bruit <aigu>"
    )
    await harness.feed(spoken)
    await harness.say(TECHNICIAN, "Contexte")
    memo = harness.updates.voice(
        TECHNICIAN, harness.session, b"ID3", 75, file_id="A1", audio="memo.mp3"
    )
    await harness.feed(memo)
    return job


async def find_card(harness: Harness, job: Job, person: Person = DISPATCHER) -> Call:
    calls = await harness.say(person, f"/find {job.number}")
    return next(c for c in calls if c.method == "sendMessage" and job.number in c.text)


async def test_the_office_plays_the_voice_notes_from_find(short: Harness) -> None:
    job = await with_voice_notes(short)
    first, second = await voice_notes_of(short, job)
    card = await find_card(short, job)
    assert [label for label, _ in card.buttons()] == ["🎙 Notes vocales (2)"]
    calls = await short.press(DISPATCHER, card, button(card, "Notes vocales"))
    played = [c for c in calls if c.method in ("sendVoice", "sendAudio")]
    fmt = Formatter("fr", "Europe/Paris")
    assert [(c.method, c.chat_id) for c in played] == [
        ("sendVoice", DISPATCHER.id),
        ("sendAudio", DISPATCHER.id),
    ]
    assert played[0].params["voice"] == "V1"
    assert played[0].params["caption"] == (
        f"🎙 {job.number} · Contexte · {fmt.datetime(first.received_at)} · 0:42\nBruit &lt;aigu&gt;"
    )
    assert played[1].params["audio"] == "A1"
    assert played[1].params["caption"] == (
        f"🎙 {job.number} · Travaux réalisés · {fmt.datetime(second.received_at)} · 1:15"
    )


async def test_a_voice_note_without_a_telegram_file_id_is_uploaded(short: Harness) -> None:
    job = await with_voice_notes(short)
    async with short.db.transaction() as session:
        await session.execute(
            update(Attachment).where(Attachment.file_id == "V1").values(file_id=None)
        )
    card = await find_card(short, job)
    calls = await short.press(DISPATCHER, card, button(card, "Notes vocales"))
    (voice,) = [c for c in calls if c.method == "sendVoice"]
    assert str(voice.params["voice"]).startswith("attach://")


async def test_an_intervention_without_voice_notes_shows_no_button(short: Harness) -> None:
    async with short.db.transaction() as session:
        await users.add(session, DISPATCHER.id, DISPATCHER.first_name, Role.DISPATCHER)
    job = await started(short)
    card = await find_card(short, job)
    assert card.buttons() == []


async def test_only_the_office_may_play_the_voice_notes(short: Harness) -> None:
    job = await with_voice_notes(short)
    async with short.db.transaction() as session:
        await users.add(session, CLIENT.id, CLIENT.first_name, Role.CLIENT)
    card = await find_card(short, job)
    pressed = button(card, "Notes vocales")
    for person in (TECHNICIAN, CLIENT):
        calls = await short.press(person, card, pressed)
        assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [
            "Vous n'avez pas accès à cette action."
        ]
        assert [c for c in calls if c.method in ("sendVoice", "sendAudio", "sendMessage")] == []


async def test_a_voice_notes_button_of_an_intervention_that_is_gone_is_an_old_button(
    short: Harness,
) -> None:
    job = await with_voice_notes(short)
    card = await find_card(short, job)
    calls = await short.press(DISPATCHER, card, PlayVoiceNotes(intervention_id=999_999).pack())
    assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [
        "Ce bouton n'est plus actif. Envoyez /help pour reprendre."
    ]
    assert [c for c in calls if c.method in ("sendVoice", "sendAudio")] == []
