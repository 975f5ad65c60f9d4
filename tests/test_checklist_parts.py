"""The methods checklist and the parts lines, through the real Dispatcher: what a
technician taps and types, what they read back, and what is kept."""

from __future__ import annotations

from decimal import Decimal

from handlers.callbacks import WizardAction, Wz
from reports.formatting import Formatter
from storage.models import Intervention, Part
from tests.conftest import TECHNICIAN, Harness, Job, load_job, plan_job, scratch, start_job
from tests.mocked import Call, Person, button
from tests.test_voice import VOICE_NOT_KEPT

FR = Formatter("fr")
OTHER_TECHNICIAN = Person(21, "Luc", "luc_tech", "fr")
ENGLISH_TECHNICIAN = Person(22, "Jane", "jane_tech", "en")
METHODS = "Méthodes et matériel"
PARTS = "Pièces"


def step_of(call: Call) -> str:
    """The title of the step a prompt belongs to ("" for other messages)."""
    if "<i>Étape " not in call.text and "<i>Step " not in call.text:
        return ""
    return call.text.split(" · ", 2)[-1].split("</i>")[0]


def prompt_in(calls: list[Call]) -> Call:
    """The last wizard prompt shown: sent, or the message pressed edited into it."""
    prompts = [c for c in calls if c.method in ("sendMessage", "editMessageText") and step_of(c)]
    assert prompts, [c.text for c in calls]
    return prompts[-1]


def alert(calls: list[Call]) -> str:
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers and answers[-1].params.get("show_alert"), calls
    return str(answers[-1].params["text"])


def answers(calls: list[Call]) -> list[str]:
    return [c.text for c in calls if c.method == "sendMessage"]


async def reach(harness: Harness, job: Job, title: str, person: Person = TECHNICIAN) -> Call:
    """Start the job and get through the earlier steps (skip when allowed, else a tick
    and Next on the checklist, else a few words) until the prompt of `title`."""
    if person == TECHNICIAN:
        prompt = prompt_in(await start_job(harness, job, person))
    else:  # start_job reads the French button
        listing = (await harness.say(person, "/today"))[0]
        card = (await harness.press(person, listing, button(listing, job.number)))[-1]
        prompt = prompt_in(await harness.press(person, card, button(card, "▶️")))
    for _ in range(12):
        if step_of(prompt) == title:
            return prompt
        labels = [text for text, _ in prompt.buttons()]
        if any("Passer" in label or "Skip" in label for label in labels):
            calls = await harness.press(person, prompt, button(prompt, lambda s: "⏭" in s))
        elif step_of(prompt) in (METHODS, "Methods and equipment"):
            await harness.press(person, prompt, button(prompt, "⬜"))
            calls = await harness.press(person, prompt, button(prompt, "➡️"))
        else:
            calls = await harness.say(person, "Remplacement du brûleur")
        prompt = prompt_in(calls)
    raise AssertionError(f"never reached {title}")


def edited(calls: list[Call]) -> Call:
    """The message a press redrew in place, with its new buttons."""
    edits = [c for c in calls if c.method in ("editMessageReplyMarkup", "editMessageText")]
    assert edits, [c.method for c in calls]
    return edits[-1]


async def add_known_part(
    harness: Harness, reference: str | None, designation: str, price: str, quantity: str = "1"
) -> None:
    """A line on an intervention of another client, as if typed months ago."""
    other = await plan_job(harness.db, client_name="Hôtel du Parc")
    async with harness.db.transaction() as session:
        session.add(
            Part(
                intervention_id=other.id,
                position=1,
                reference=reference,
                designation=designation,
                quantity=Decimal(quantity),
                unit_price=Decimal(price),
            )
        )


def lines(job: Intervention) -> list[tuple[str | None, str, Decimal, Decimal]]:
    return [(p.reference, p.designation, p.quantity, p.unit_price) for p in job.parts]


# Methods and equipment -----------------------------------------------------------


async def test_ticking_items_redraws_the_same_message_and_is_kept(harness: Harness) -> None:
    job = await plan_job(harness.db)
    prompt = await reach(harness, job, METHODS)
    assert [text for text, _ in prompt.buttons()][:2] == [
        "⬜ 1. Consignation et coupure…",
        "⬜ 2. Équipements de protection…",
    ]
    assert all(len(data.encode()) < 64 for _, data in prompt.buttons())

    calls = await harness.press(TECHNICIAN, prompt, button(prompt, "Consignation"))
    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
    redrawn = edited(calls)
    assert button(redrawn, "✅ 1. Consignation")
    assert "✅ <b>1.</b> Consignation et coupure de l'alimentation" in redrawn.text
    await harness.press(TECHNICIAN, prompt, button(prompt, "Contrôle visuel"))
    calls = await harness.press(TECHNICIAN, prompt, button(prompt, "Contrôle visuel"))
    assert button(edited(calls), "⬜ 3. Contrôle visuel")

    saved = await load_job(harness.db, job)
    assert len(saved.checklist) == 7
    assert [(item.label, item.checked) for item in saved.checklist[:3]] == [
        ("Consignation et coupure de l'alimentation", True),
        ("Équipements de protection individuelle portés", False),
        ("Contrôle visuel de l'installation", False),
    ]


async def test_the_checklist_is_in_the_technicians_language(harness: Harness) -> None:
    job = await plan_job(harness.db, technician=ENGLISH_TECHNICIAN)
    prompt = await reach(harness, job, "Methods and equipment", ENGLISH_TECHNICIAN)
    assert button(prompt, "⬜ 1. Lock-out and power cut")
    assert button(prompt, "📝 Note on an item")
    saved = await load_job(harness.db, job)
    assert saved.checklist[0].label == "Lock-out and power cut"


async def test_a_note_on_an_item_is_shown_under_it_and_free_text_is_the_tools_note(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db)
    prompt = await reach(harness, job, METHODS)

    calls = await harness.press(TECHNICIAN, prompt, button(prompt, "📝 Note"))
    picker = edited(calls)
    assert "Sur quel point porte la note" in picker.text
    calls = await harness.press(TECHNICIAN, picker, button(picker, "Équipements"))
    assert "Écrivez la note pour « Équipements de protection individuelle portés »" in (
        edited(calls).text
    )
    calls = await harness.say(TECHNICIAN, "Gants isolants classe 0 <1000 V>")
    prompt = prompt_in(calls)
    assert step_of(prompt) == METHODS
    assert (
        "⬜ <b>2.</b> Équipements de protection individuelle portés\n"
        "    📝 <i>Gants isolants classe 0 &lt;1000 V&gt;</i>"
    ) in prompt.text
    assert button(prompt, "⬜ 2. Équipements de protection… 📝")

    await harness.say(TECHNICIAN, "Multimètre Fluke")
    prompt = prompt_in(await harness.say(TECHNICIAN, "Clé dynamométrique"))
    assert "🧰 Outils et matériel : <i>Multimètre Fluke\nClé dynamométrique</i>" in prompt.text

    saved = await load_job(harness.db, job)
    assert saved.checklist[1].note == "Gants isolants classe 0 <1000 V>"
    assert saved.methods == "Multimètre Fluke\nClé dynamométrique"
    assert saved.wizard_step == "methods"


async def test_a_note_too_long_is_refused_and_the_item_still_waits_for_it(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db)
    prompt = await reach(harness, job, METHODS)
    picker = edited(await harness.press(TECHNICIAN, prompt, button(prompt, "📝 Note")))
    await harness.press(TECHNICIAN, picker, button(picker, "Nettoyage"))
    calls = await harness.say(TECHNICIAN, "x" * 1200)
    assert answers(calls) == [
        "Ce texte est trop long : 1\u00a0200 caractères pour 1\u00a0000 au plus. "
        "Raccourcissez-le, s'il vous plaît."
    ]
    await harness.say(TECHNICIAN, "Filtres changés, pas seulement nettoyés")
    saved = await load_job(harness.db, job)
    assert saved.checklist[3].note == "Filtres changés, pas seulement nettoyés"
    assert saved.methods is None


async def test_next_is_refused_until_an_item_is_ticked_or_tools_are_written(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db)
    prompt = await reach(harness, job, METHODS)
    calls = await harness.press(TECHNICIAN, prompt, button(prompt, "Suivant"))
    assert "Cochez au moins un point" in alert(calls)
    assert answers(calls) == []
    assert (await load_job(harness.db, job)).wizard_step == "methods"

    prompt = prompt_in(await harness.say(TECHNICIAN, "Aspirateur, brosses"))
    calls = await harness.press(TECHNICIAN, prompt, button(prompt, "Suivant"))
    assert step_of(prompt_in(calls)) == "Travaux réalisés"


async def test_a_tick_on_a_message_telegram_finds_unchanged_is_answered_quietly(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db)
    prompt = await reach(harness, job, METHODS)
    harness.calls.fail_next(
        "editMessageText",
        400,
        "Bad Request: message is not modified: specified new message content and reply "
        "markup are exactly the same as a current content and reply markup of the message",
    )
    calls = await harness.press(TECHNICIAN, prompt, button(prompt, "Remise en service"))
    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
    assert (await load_job(harness.db, job)).checklist[5].checked

    harness.calls.fail_next("editMessageText", 400, "Bad Request: message to edit not found")
    calls = await harness.press(TECHNICIAN, prompt, button(prompt, "Chantier propre"))
    assert button(prompt_in(calls), "✅ 7. Chantier propre")


async def test_a_voice_message_at_the_checklist_is_kept_and_a_sticker_gets_what_is_expected(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db)
    await reach(harness, job, METHODS)
    voice = harness.updates.voice(TECHNICIAN, harness.session, b"OggS voice", 4)
    calls = await harness.feed(voice)
    assert answers(calls) == [
        "🎙 Note vocale (0:04) gardée avec « Méthodes et matériel », pour le bureau. "
        "Le rapport n'imprime que le texte tapé : écrivez-le ici."
    ]
    sticker = {
        "file_id": "STK1",
        "file_unique_id": "uSTK1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    calls = await harness.say(TECHNICIAN, "", sticker=sticker)
    assert "J'attends du texte" in answers(calls)[0]
    saved = await load_job(harness.db, job)
    assert saved.methods is None and saved.wizard_step == "methods"


# Parts -------------------------------------------------------------------------


async def test_a_part_typed_step_by_step_reads_french_numbers(harness: Harness) -> None:
    job = await plan_job(harness.db)
    prompt = await reach(harness, job, PARTS)
    assert "Aucune pièce pour l'instant" in prompt.text
    prompt = prompt_in(await harness.press(TECHNICIAN, prompt, button(prompt, "Ajouter")))
    assert "Référence ou désignation de la pièce ?" in prompt.text

    prompt = prompt_in(await harness.say(TECHNICIAN, "FLT-200"))
    assert "Référence <b>FLT-200</b>. Quelle est la désignation" in prompt.text
    prompt = prompt_in(await harness.say(TECHNICIAN, "Filtre à air"))
    assert "<b>FLT-200 · Filtre à air</b>\nQuelle quantité ?" in prompt.text
    prompt = prompt_in(await harness.say(TECHNICIAN, "1 234,5"))
    assert "× 1\u202f234,5\nPrix unitaire HT ?" in prompt.text
    prompt = prompt_in(await harness.say(TECHNICIAN, "12,50 €"))

    line = (
        f"FLT-200 · Filtre à air — {FR.number(Decimal('1234.5'))} × "
        f"{FR.money(Decimal('12.50'))} = <b>{FR.money(Decimal('15431.25'))}</b>"
    )
    assert prompt.text.count(line) == 2  # "Added: ..." and the line in the list
    assert f"Total pièces HT : <b>{FR.money(Decimal('15431.25'))}</b>" in prompt.text
    assert button(prompt, "❌ 1")
    saved = await load_job(harness.db, job)
    assert lines(saved) == [("FLT-200", "Filtre à air", Decimal("1234.5"), Decimal("12.50"))]
    assert scratch(saved) == {}


async def test_a_negative_quantity_and_an_absurd_price_are_refused_and_the_line_waits(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db)
    await reach(harness, job, PARTS)
    prompt = prompt_in(await harness.say(TECHNICIAN, "Joint fibre"))
    assert "<b>Joint fibre</b>\nQuelle quantité ?" in prompt.text

    calls = await harness.say(TECHNICIAN, "-2")
    assert answers(calls) == [
        "C'est trop petit : le minimum est 0,001. Vérifiez et renvoyez le nombre."
    ]
    calls = await harness.say(TECHNICIAN, "deux")
    assert answers(calls)[0].startswith("Je n'ai pas compris ce nombre")
    await harness.say(TECHNICIAN, "2")
    calls = await harness.say(TECHNICIAN, "2 000 000 €")
    assert answers(calls) == [
        "C'est trop grand : le maximum est 100\u00a0000. Vérifiez et renvoyez le nombre."
    ]
    saved = await load_job(harness.db, job)
    assert saved.parts == []
    assert saved.wizard_step == "parts"
    assert scratch(saved) == {
        "stage": "price",
        "draft": {"designation": "Joint fibre", "quantity": "2"},
    }

    # After a pause (or a restart), the same question comes back.
    resumed = prompt_in(await harness.say(TECHNICIAN, "/resume"))
    assert "<b>Joint fibre</b> × 2\nPrix unitaire HT ?" in resumed.text
    await harness.say(TECHNICIAN, "3,5")
    saved = await load_job(harness.db, job)
    assert lines(saved) == [(None, "Joint fibre", Decimal("2"), Decimal("3.50"))]


async def test_a_reference_used_on_another_intervention_is_offered_with_its_last_price(
    harness: Harness,
) -> None:
    await add_known_part(harness, "FLT-200", "Filtre à air (ancien)", "12.00")
    await add_known_part(harness, "FLT-200", "Filtre à air G4", "14.00")
    await add_known_part(harness, "BRU-7", "Buse filtre brûleur", "9.90")
    await add_known_part(harness, "VNT-3", "Ventilateur", "120.00")
    job = await plan_job(harness.db)
    await reach(harness, job, PARTS)

    prompt = prompt_in(await harness.say(TECHNICIAN, "filtre"))
    assert "Pièces déjà utilisées pour « filtre »" in prompt.text
    offered = [text for text, _ in prompt.buttons()]
    assert offered[:3] == [
        "FLT-200 · Filtre à air G4 · 14,00\u00a0€",
        "BRU-7 · Buse filtre brûleur · 9,90\u00a0€",
        "➕ Nouvelle pièce : filtre",
    ]
    prompt = prompt_in(await harness.press(TECHNICIAN, prompt, button(prompt, "FLT-200")))
    assert "<b>FLT-200 · Filtre à air G4</b>\nQuelle quantité ?" in prompt.text
    prompt = prompt_in(await harness.say(TECHNICIAN, "x3"))
    same = button(prompt, "Même prix (14,00\u00a0€)")
    prompt = prompt_in(await harness.press(TECHNICIAN, prompt, same))
    assert "✅ Ajoutée : FLT-200 · Filtre à air G4" in prompt.text

    saved = await load_job(harness.db, job)
    assert lines(saved) == [("FLT-200", "Filtre à air G4", Decimal("3"), Decimal("14.00"))]


async def test_a_name_no_part_matches_asks_only_what_is_missing(harness: Harness) -> None:
    await add_known_part(harness, "VNT-3", "Ventilateur", "120.00")
    job = await plan_job(harness.db)
    await reach(harness, job, PARTS)
    prompt = prompt_in(await harness.say(TECHNICIAN, "Ventil"))
    prompt = prompt_in(await harness.press(TECHNICIAN, prompt, button(prompt, "Nouvelle")))
    assert "<b>Ventil</b>\nQuelle quantité ?" in prompt.text
    prompt = prompt_in(await harness.say(TECHNICIAN, "1"))
    assert not any("Même prix" in text for text, _ in prompt.buttons())


async def test_the_one_line_form_adds_a_line_at_once(harness: Harness) -> None:
    job = await plan_job(harness.db)
    await reach(harness, job, PARTS)
    calls = await harness.say(TECHNICIAN, "JNT-12; Joint torique")
    assert answers(calls)[0].startswith("Sur une ligne, séparez 4 champs par « ; »")
    calls = await harness.say(TECHNICIAN, "JNT-12; Joint torique; quatre; 0,80")
    assert answers(calls) == [
        "Quantité : Je n'ai pas compris ce nombre. Écrivez seulement des chiffres, "
        "avec une virgule pour les décimales. Exemple : 12,5"
    ]
    prompt = prompt_in(await harness.say(TECHNICIAN, "JNT-12; Joint torique; 4; 0,80 €"))
    assert "✅ Ajoutée : JNT-12 · Joint torique — 4 × 0,80\u00a0€ = <b>3,20\u00a0€</b>" in (
        prompt.text
    )
    await harness.say(TECHNICIAN, "Graisse silicone; 1; 7,5")
    saved = await load_job(harness.db, job)
    assert lines(saved) == [
        ("JNT-12", "Joint torique", Decimal("4"), Decimal("0.80")),
        (None, "Graisse silicone", Decimal("1"), Decimal("7.50")),
    ]


async def test_removing_a_line_says_which_one_and_can_be_undone(harness: Harness) -> None:
    job = await plan_job(harness.db)
    await reach(harness, job, PARTS)
    await harness.say(TECHNICIAN, "JNT-12; Joint torique; 4; 0,80")
    listing = prompt_in(await harness.say(TECHNICIAN, "VNT-3; Ventilateur; 1; 120"))

    prompt = prompt_in(await harness.press(TECHNICIAN, listing, button(listing, "❌ 1")))
    assert prompt.text.count("Joint torique") == 1
    assert "🗑 Ligne 1 retirée : JNT-12 · Joint torique — 4 × 0,80\u00a0€" in prompt.text
    assert "1. VNT-3 · Ventilateur" in prompt.text
    assert [(ref, qty) for ref, _, qty, _ in lines(await load_job(harness.db, job))] == [
        ("VNT-3", Decimal("1"))
    ]

    calls = await harness.press(TECHNICIAN, listing, button(listing, "❌ 1"))
    assert alert(calls) == "Cette ligne a déjà été retirée."
    prompt = prompt_in(await harness.press(TECHNICIAN, prompt, button(prompt, "Annuler la")))
    assert "↩️ Ligne rétablie : JNT-12 · Joint torique" in prompt.text
    assert [ref for ref, *_ in lines(await load_job(harness.db, job))] == ["JNT-12", "VNT-3"]


async def test_done_with_no_part_goes_on_only_when_the_section_is_optional(
    harness: Harness,
) -> None:
    optional = await plan_job(harness.db)
    prompt = await reach(harness, optional, PARTS)
    # With no line, an optional section offers Skip alone (Done would do the same).
    labels = [text for text, _ in prompt.buttons()]
    assert not any("Terminé" in label for label in labels), labels
    calls = await harness.press(TECHNICIAN, prompt, button(prompt, "Passer"))
    assert step_of(prompt_in(calls)) == "Photos"

    required = await plan_job(harness.db, template="installation", client_name="Mairie")
    await harness.say(TECHNICIAN, "/cancel")
    prompt = await reach(harness, required, PARTS)
    assert not any("Passer" in text for text, _ in prompt.buttons())
    calls = await harness.press(TECHNICIAN, prompt, button(prompt, "Terminé"))
    assert "Ajoutez au moins une pièce" in alert(calls)
    prompt = prompt_in(await harness.say(TECHNICIAN, "PAC-1; Pompe à chaleur; 1; 4 990"))
    calls = await harness.press(TECHNICIAN, prompt, button(prompt, "Terminé"))
    assert step_of(prompt_in(calls)) == "Photos"

    # With a line, Done alone goes on (no Skip beside it).
    labels = [text for text, _ in prompt.buttons()]
    assert not any("Passer" in label for label in labels), labels


async def test_a_button_of_an_old_prompt_gets_a_polite_answer(harness: Harness) -> None:
    job = await plan_job(harness.db)
    methods = await reach(harness, job, METHODS)
    await harness.press(TECHNICIAN, methods, button(methods, "Consignation"))
    await harness.press(TECHNICIAN, methods, button(methods, "Suivant"))
    await harness.say(TECHNICIAN, "Remplacement du brûleur")

    calls = await harness.press(TECHNICIAN, methods, button(methods, "Contrôle visuel"))
    assert "n'est plus actif" in alert(calls)
    # The parts are asked below already: not a second time.
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert not (await load_job(harness.db, job)).checklist[2].checked

    await add_known_part(harness, "FLT-200", "Filtre à air G4", "14.00")
    offer = prompt_in(await harness.say(TECHNICIAN, "FLT"))
    await harness.press(TECHNICIAN, offer, button(offer, "FLT-200"))
    price = prompt_in(await harness.say(TECHNICIAN, "1"))
    listing = prompt_in(await harness.press(TECHNICIAN, price, button(price, "Même prix")))
    for old, label in ((price, "Même prix"), (offer, "FLT-200")):
        calls = await harness.press(TECHNICIAN, old, button(old, label))
        assert "n'est plus actif" in alert(calls)

    quantity = prompt_in(await harness.say(TECHNICIAN, "Buse"))
    assert "<b>Buse</b>\nQuelle quantité ?" in quantity.text
    calls = await harness.press(TECHNICIAN, listing, button(listing, "Terminé"))
    assert "Une pièce est en cours d'ajout" in alert(calls)
    assert [c.method for c in calls] == ["answerCallbackQuery"]  # its question is below
    assert len((await load_job(harness.db, job)).parts) == 1


async def test_a_voice_message_or_a_sticker_in_the_parts_says_what_is_expected(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db)
    await reach(harness, job, PARTS)
    sticker = {
        "file_id": "STK1",
        "file_unique_id": "uSTK1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    calls = await harness.say(TECHNICIAN, "", sticker=sticker)
    assert answers(calls) == [
        "J'attends du texte : la référence ou la désignation d'une pièce. Ou touchez « Terminé »."
    ]
    await harness.say(TECHNICIAN, "Joint fibre")
    voice = {"file_id": "VOICE1", "file_unique_id": "uVOICE1", "duration": 3}
    calls = await harness.say(TECHNICIAN, "", voice=voice)
    assert answers(calls) == [
        f"{VOICE_NOT_KEPT}\nJ'attends une quantité en chiffres (ex. 2 ou 3,5 m)."
    ]
    saved = await load_job(harness.db, job)
    assert saved.wizard_data["draft"] == {"designation": "Joint fibre"}


async def test_a_button_naming_another_technicians_intervention_is_refused(
    harness: Harness,
) -> None:
    theirs = await plan_job(harness.db, technician=OTHER_TECHNICIAN, client_name="Garage Roux")
    await reach(harness, theirs, PARTS, OTHER_TECHNICIAN)
    await harness.say(OTHER_TECHNICIAN, "VNT-3; Ventilateur; 1; 120")
    mine = await plan_job(harness.db)
    prompt = await reach(harness, mine, PARTS)

    their_part = (await load_job(harness.db, theirs)).parts[0]
    for forged in (
        Wz(
            intervention_id=theirs.id,
            place="parts",
            action=WizardAction.REMOVE,
            value=str(their_part.id),
        ),
        Wz(intervention_id=theirs.id, place="methods", action=WizardAction.TICK, value="2"),
    ):
        calls = await harness.press(TECHNICIAN, prompt, forged.pack())
        assert alert(calls) == "Vous n'avez pas accès à cette action."
        assert answers(calls) == []

    mine_forged = Wz(
        intervention_id=mine.id, place="parts", action=WizardAction.REMOVE, value=str(their_part.id)
    )
    calls = await harness.press(TECHNICIAN, prompt, mine_forged.pack())
    assert alert(calls) == "Cette ligne a déjà été retirée."
    saved = await load_job(harness.db, theirs)
    assert lines(saved) == [("VNT-3", "Ventilateur", Decimal("1"), Decimal("120.00"))]
    assert not saved.checklist[1].checked


async def test_a_long_parts_list_shows_the_last_lines_and_the_total_of_all(
    harness: Harness,
) -> None:
    job = await plan_job(harness.db)
    async with harness.db.transaction() as session:
        for position in range(1, 31):
            session.add(
                Part(
                    intervention_id=job.id,
                    position=position,
                    reference=f"REF-{position:03d}",
                    designation="Câble souple très long " * 12,
                    quantity=Decimal(2),
                    unit_price=Decimal("10.00"),
                )
            )
    prompt = await reach(harness, job, PARTS)
    assert len(prompt.text) < 4096
    assert "… 10 lignes plus haut, comprises dans le total" in prompt.text
    assert "REF-010" not in prompt.text and "21. REF-021" in prompt.text
    assert f"Total pièces HT : <b>{FR.money(Decimal('600.00'))}</b>" in prompt.text
    removes = [text for text, _ in prompt.buttons() if text.startswith("❌")]
    assert removes[0] == "❌ 11" and removes[-1] == "❌ 30" and len(removes) == 20
