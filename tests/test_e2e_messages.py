"""End to end: how many messages a whole report costs the technician, and which of
them still carry buttons.

A technician on a roof reads the chat in glances: every message the bot sends is one
more to scroll past, and a button that looks alive but only answers "this button is
no longer active" is a trap. The walk here is the full French maintenance report
(every section, twelve photos, both signatures) as a person really goes through
it: they also put it aside and resume it, go back a step, tap a button of an older
message, and correct a section from the review.

Everything is computed from the calls the fake Bot API recorded: the messages the
bot sent to the technician (edits are not messages), and, at each question and at
the end, the bot's messages whose buttons (after every edit) are still there. The
only ones allowed are the question being asked and the cards meant to stay: an
intervention's card, the list of the day and the button of the client's QR code,
whose buttons all work at any time (payload prefix "job").
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.fakeapi import FakeBotAPI, FakeUser, Recorded, inline_buttons
from tests.test_e2e import Deployment, button, shows_bot_log
from tests.test_e2e_report import (
    CONFIRMATION_TIMEOUT,
    OFFICE_CHAT,
    STEP_TIMEOUT,
    SUBMIT_TIMEOUT,
    assert_nothing_went_wrong,
    noisy_jpeg,
    pdf_sent_to,
    plan_intervention,
    register_technician,
    signature_photo,
    stop_when_everything_is_sent,
)

#: The most messages the whole walk may cost (65 before the chat was thinned out).
MOST_MESSAGES = 45
#: Calls that put a new message in the chat.
SENDS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendSticker",
        "copyMessage",
        "forwardMessage",
    }
)
#: Calls that change a message already there.
EDITS = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"}
)
#: Payloads of buttons that work at any time (an intervention's card, the list of the
#: day, the client's QR code).
CARD_PREFIX = "job:"

ROSE = FakeUser(620_001, "Rose", username="rose_tech", language_code="fr")


@pytest.fixture
def deployment_env() -> dict[str, str]:
    return {"OFFICE_CHAT_ID": str(OFFICE_CHAT)}


def words(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


def live_buttons(message: dict[str, Any]) -> list[str]:
    """The payloads of a message's buttons that are not a card's."""
    return [
        str(b.get("callback_data"))
        for b in inline_buttons(message)
        if not str(b.get("callback_data", "")).startswith(CARD_PREFIX)
    ]


class Walk:
    """The technician's side: what they do, and the bot's messages as they now read
    (edits applied). Each action marks where the answers to it start."""

    def __init__(self, deployment: Deployment, person: FakeUser) -> None:
        self.deployment = deployment
        self.api = deployment.api
        self.person = person
        self.mark = 0
        #: The messages found with live buttons while another question was asked (or
        #: none), the first time each was found.
        self.stale: dict[int, str] = {}

    # Acting ------------------------------------------------------------------------

    def _act(self) -> None:
        self.mark = len(self.api.requests)

    def say(self, text: str) -> None:
        self._act()
        self.api.send_text(self.person, text)

    def photo(self, data: bytes, caption: str | None = None, album: str | None = None) -> None:
        self._act()
        self.api.send_photo(self.person, data, caption=caption, media_group_id=album)

    def album(self, photos: list[bytes]) -> None:
        self._act()
        for data in photos:
            self.api.send_photo(self.person, data, media_group_id="album-1")

    def location(self) -> None:
        self._act()
        self.api.send_location(self.person, 48.8686, 2.3319, horizontal_accuracy=12.0)

    def press(self, message: dict[str, Any], label: str) -> None:
        self._act()
        self.api.press_button(self.person, message, button(message, label))

    def press_old(self, snapshot: dict[str, Any], label: str) -> None:
        """A button of a message as it was once shown (a phone that had not caught up)."""
        self._act()
        self.api.press_button(self.person, snapshot, button(snapshot, label), strict=False)

    # Reading -----------------------------------------------------------------------

    def _touched(self) -> list[int]:
        """The bot's messages to the person sent or changed since the last action."""
        found = []
        for record in self.api.requests[self.mark :]:
            if (
                record.ok
                and record.method in SENDS | EDITS
                and str(record.chat_id) == str(self.person.id)
                and isinstance(record.result, dict)
            ):
                found.append(int(record.result["message_id"]))
        return found

    def _now(self, message_id: int) -> dict[str, Any] | None:
        return self.api.messages.get((self.person.id, message_id))

    async def shown(
        self, containing: str, *, question: bool = True, timeout: float = STEP_TIMEOUT
    ) -> dict[str, Any]:
        """The latest of the bot's messages sent or changed since the last action that
        now reads `containing` (and, for a question, has buttons): as it now reads."""

        def found() -> dict[str, Any] | None:
            for message_id in sorted(set(self._touched()), reverse=True):
                message = self._now(message_id)
                if message is None or containing not in words(message):
                    continue
                if question and not inline_buttons(message):
                    continue
                return message
            return None

        kind = "question" if question else "message"
        what = f"{kind} to {self.person.first_name}: {containing!r}"
        message = await self.deployment.until(found, timeout=timeout, what=what)
        assert message is not None
        if question:
            await self.check_only_live(message)
        return dict(message)

    async def old_button_answered(self) -> Recorded:
        """The answer to a press on an old button (its little alert)."""

        def found() -> Recorded | None:
            for record in self.api.requests[self.mark :]:
                if record.ok and record.method == "answerCallbackQuery":
                    return record
            return None

        answer = await self.deployment.until(found, timeout=STEP_TIMEOUT, what="the alert")
        await self.settled()
        return answer

    async def settled(self) -> None:
        """Every update handled and every delivery sent."""
        await self.deployment.until(
            lambda: (
                not self.deployment.query(
                    "SELECT 1 FROM inbox_updates WHERE state = 'pending' LIMIT 1"
                )
                and not self.deployment.query(
                    "SELECT 1 FROM deliveries WHERE state = 'pending' LIMIT 1"
                )
            ),
            timeout=STEP_TIMEOUT,
            what="every update handled and every delivery sent",
        )

    def live(self) -> list[dict[str, Any]]:
        """The bot's messages to the person whose buttons (after edits) are not a card's."""
        return [m for m in self.api.bot_messages(self.person.id) if live_buttons(m)]

    async def check_only_live(self, current: dict[str, Any] | None) -> None:
        """Notes every message other than `current` that still has live buttons, once
        what this step sent is out."""
        await self.settled()
        others = [
            m for m in self.live() if current is None or m["message_id"] != current["message_id"]
        ]
        for message in others:
            first = words(message).splitlines()[:2]
            self.stale.setdefault(
                message["message_id"],
                f"while asking {words(current or {}).splitlines()[:2]}: {first} still has"
                f" {[b['text'] for b in inline_buttons(message)]}",
            )

    def messages_sent(self) -> list[Recorded]:
        return [
            r
            for r in self.api.requests
            if r.ok and r.method in SENDS and str(r.chat_id) == str(self.person.id)
        ]


def step(number: int, title: str) -> str:
    return f"Étape {number}/13 · {title}"


@pytest.mark.e2e
@shows_bot_log
async def test_the_full_french_report_costs_few_messages_and_leaves_no_stale_buttons(
    api: FakeBotAPI, deployment: Deployment, tmp_path: Path
) -> None:
    await register_technician(deployment, ROSE, "Rose Moreau")
    number = await plan_intervention(
        deployment, ROSE, client_name="Boulangerie Martin", contact="Mme Martin"
    )
    await deployment.bot.start(api)
    walk = Walk(deployment, ROSE)

    # The day, the card, Start, the location pin.
    walk.say("/today")
    listing = await walk.shown("Vos interventions du jour", question=False)
    walk.press(listing, number)
    card = await walk.shown("Première intervention chez ce client", question=False)
    walk.press(card, "Commencer")
    context = await walk.shown(step(1, "Contexte"))
    walk.location()
    await walk.shown("Position enregistrée", question=False)
    await walk.check_only_live(context)

    # Context, objective: typed.
    walk.say("Bruit anormal au démarrage de la chaudière, signalé par le client.")
    await walk.shown(step(2, "Objectif"))
    walk.say("Entretien annuel et suppression du bruit.")

    # Methods: two items ticked, the tools typed, then Next.
    methods = await walk.shown(step(3, "Méthodes et matériel"))
    walk.press(methods, "Consignation")
    methods = await walk.shown("✅ 1.")
    walk.press(methods, "Nettoyage des filtres")
    methods = await walk.shown("✅ 4.")
    walk.say("Analyseur de combustion, aspirateur.")
    methods = await walk.shown("Analyseur de combustion")
    walk.press(methods, "Suivant")

    # Work done, one part typed on one line, Done.
    await walk.shown(step(4, "Travaux réalisés"))
    walk.say("Filtre à air remplacé, brûleur nettoyé, combustion réglée.")
    await walk.shown(step(5, "Pièces"))
    walk.say("FLT-200; Filtre à air G4; 2; 14,50")
    parts = await walk.shown("Ajoutée : FLT-200")
    walk.press(parts, "Terminé")

    # Twelve photos: one with a caption, five more one by one (each seen counted
    # before the next), then an album of six; Done.
    await walk.shown(step(6, "Photos"))
    walk.photo(noisy_jpeg(1), caption="Filtre encrassé avant remplacement")
    await walk.shown("Au total : 1 photo,", timeout=CONFIRMATION_TIMEOUT)
    for seed in range(2, 7):
        walk.photo(noisy_jpeg(seed))
        await walk.shown(f"Au total : {seed} photos,", timeout=CONFIRMATION_TIMEOUT)
    walk.album([noisy_jpeg(seed) for seed in range(7, 13)])
    photos = await walk.shown("Au total : 12 photos,", timeout=CONFIRMATION_TIMEOUT)
    walk.press(photos, "Terminé (12)")

    # Results: Yes, then a comment typed.
    results = await walk.shown(step(7, "Résultats"))
    walk.press(results, "Oui")
    await walk.shown("Un commentaire sur le résultat")
    walk.say("Bruit disparu, combustion conforme.")

    # Remarks: put aside with the Later button, resumed with /resume, then typed.
    remarks = await walk.shown(step(8, "Remarques"))
    before_pause = remarks
    walk.press(remarks, "Plus tard")
    await walk.shown("mis de côté", question=False)
    await walk.check_only_live(None)
    walk.say("/resume")
    await walk.shown(step(8, "Remarques"))
    walk.say("Prévoir le remplacement du vase d'expansion l'an prochain.")

    # Times: back to the remarks, kept, then the times again.
    times = await walk.shown(step(9, "Heures"))
    walk.press(times, "Retour")
    remarks = await walk.shown(step(8, "Remarques"))
    walk.press(remarks, "Garder")
    times = await walk.shown(step(9, "Heures"))

    # A button of the remarks as they were asked before the pause.
    walk.press_old(before_pause, "Plus tard")
    alert = await walk.old_button_answered()
    assert "plus actif" in str(alert.params.get("text")), alert.params
    await walk.check_only_live(times)

    # Times: the end now, the hours it gives, the flat travel fee.
    walk.press(times, "Maintenant")
    hours = await walk.shown("Temps travaillé")
    walk.press(hours, "C'est juste")
    travel = await walk.shown("Déplacement : forfait")
    walk.press(travel, "Forfait")

    # Pricing, then the review, where the remarks are corrected.
    pricing = await walk.shown(step(10, "Tarification"))
    walk.press(pricing, "Valider la tarification")
    review = await walk.shown(step(11, "Relecture"))
    walk.press(review, "Remarques")
    await walk.shown(step(8, "Remarques"))
    walk.say("Prévoir le remplacement du vase d'expansion avant l'hiver.")
    review = await walk.shown("avant l'hiver")
    walk.press(review, "Continuer")

    # Acceptance: the name typed, reservations, both signatures.
    await walk.shown(step(12, "Réception des travaux"))
    walk.say("Claire Martin")
    reserve = await walk.shown("Réception par Claire Martin")
    walk.press(reserve, "Avec réserves")
    await walk.shown("Écrivez les réserves")
    walk.say("Peinture à reprendre autour du radiateur.")
    await walk.shown("Faites signer Claire Martin")
    walk.photo(signature_photo(1))
    check = await walk.shown("lisible")
    walk.press(check, "Oui, continuer")
    await walk.shown("Signez sur une feuille blanche")
    walk.photo(signature_photo(2))

    # Submit.
    submit = await walk.shown(step(13, "Envoi"))
    walk.press(submit, "Envoyer le rapport")
    await walk.shown("envoyé au bureau pour validation", question=False, timeout=SUBMIT_TIMEOUT)
    await deployment.until(
        lambda: pdf_sent_to(api, ROSE.id),
        timeout=SUBMIT_TIMEOUT,
        what="the PDF sent to the technician",
    )
    await walk.settled()
    await walk.check_only_live(None)
    await stop_when_everything_is_sent(deployment)

    sent = walk.messages_sent()
    signatures_shown = [r for r in sent if "nettoyée" in (r.text or "")]
    texts = [r.text or "" for r in sent if inline_buttons(r.result or {})]
    asked_twice = sorted({text for text in texts if texts.count(text) > 1})
    by_method = Counter(r.method for r in sent)
    print(
        f"\nthe full French report: {len(sent)} messages to the technician"
        f" ({', '.join(f'{m} {n}' for m, n in sorted(by_method.items()))});"
        f" {len(walk.stale)} stale live button(s) seen along the way;"
        f" {len(asked_twice)} question(s) sent twice"
    )
    for record in sent:
        print(f"  {record.method}: {' / '.join((record.text or '').splitlines()[:3])[:110]}")
    for line in walk.stale.values():
        print(f"  stale: {line}")
    for text in asked_twice:
        print(f"  twice: {text.splitlines()[:2]}")
    assert not walk.stale, "\n".join(walk.stale.values())
    assert not asked_twice, asked_twice
    assert len(sent) <= MOST_MESSAGES, [f"{r.method}: {(r.text or '')[:60]!r}" for r in sent]
    assert signatures_shown and all(r.method == "sendPhoto" for r in signatures_shown), [
        r.method for r in signatures_shown
    ]
    (status,) = deployment.query("SELECT status FROM interventions WHERE number = ?", number)
    assert status == ("awaiting_validation",)
    (remarks_kept,) = deployment.query("SELECT remarks FROM interventions WHERE number = ?", number)
    assert remarks_kept == ("Prévoir le remplacement du vase d'expansion avant l'hiver.",)
    photos_kept = deployment.query(
        "SELECT count(*) FROM attachments a JOIN interventions i ON i.id = a.intervention_id"
        " WHERE i.number = ? AND a.kind = 'photo'",
        number,
    )
    assert photos_kept == [(12,)]
    assert_nothing_went_wrong(deployment)
