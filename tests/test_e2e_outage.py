"""End to end: `python -m bot` through a Telegram outage that answers with nginx pages.

Telegram's front end answers a share of the calls with its "502 Bad Gateway" HTML
page: getMe at start, getUpdates, sendMessage, getFile and the file downloads. A
technician meanwhile starts an intervention, answers four sections and sends four
photos. The process must not exit, every answer and photo must be stored once,
every reply must eventually arrive, and nobody may read "something went wrong"
(test_e2e.py says how the bot is run and its log shown on failure).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from tests.fakeapi import FakeBotAPI
from tests.test_e2e import Deployment, shows_bot_log
from tests.test_e2e_report import (
    CONFIRMATION_TIMEOUT,
    PAUL,
    Chat,
    french_step,
    noisy_jpeg,
    plan_intervention,
    register_technician,
    stop_when_everything_is_sent,
)

#: Every n-th call of each method gets the page.
FLAKY = {
    "getUpdates": 3,
    "sendMessage": 3,
    "getFile": 2,
    "downloadFile": 3,
    "answerCallbackQuery": 2,
}
SORRY = "un problème est survenu"


@pytest.mark.e2e
@shows_bot_log
async def test_a_report_goes_on_through_502_pages_and_nothing_is_lost_or_doubled(
    api: FakeBotAPI, deployment: Deployment, tmp_path: Path
) -> None:
    await register_technician(deployment, PAUL, "Paul Lefèvre")
    number = await plan_intervention(
        deployment, PAUL, client_name="Boulangerie Martin", contact="Mme Martin"
    )
    api.html_next("getMe", 502, times=2)
    api.fail_next("setMyCommands", 429, retry_after=1)
    for method, every in FLAKY.items():
        api.flaky(method, every=every, status=502)
    bot = deployment.bot
    await bot.start(api)
    chat = Chat(deployment, PAUL)

    chat.say("/today")
    listing = await chat.expect("Vos interventions du jour")
    chat.press(listing, number)
    card = await chat.expect("Première intervention chez ce client")
    chat.press(card, "Commencer")
    await chat.expect(french_step(1, "Contexte"))
    answers = {
        "context": "Bruit anormal au démarrage de la chaudière.",
        "objective": "Entretien annuel et suppression du bruit.",
    }
    chat.say(answers["context"])
    await chat.expect(french_step(2, "Objectif"))
    chat.say(answers["objective"])
    methods = await chat.expect(french_step(3, "Méthodes et matériel"))
    chat.press(methods, "Contrôle visuel")
    await chat.expect("", method="editMessageText")
    chat.press(methods, "Suivant")
    await chat.expect(french_step(4, "Travaux réalisés"))
    answers["work_done"] = "Filtre remplacé, brûleur nettoyé."
    chat.say(answers["work_done"])
    parts = await chat.expect(french_step(5, "Pièces"))
    chat.press(parts, "Passer")
    await chat.expect(french_step(6, "Photos"))

    photos = [noisy_jpeg(200 + n) for n in range(4)]
    chat.photo(photos[0], caption="Filtre encrassé")
    for data in photos[1:]:
        chat.photo(data, album="outage-album")
    last = await chat.expect("Au total : 4 photos", timeout=CONFIRMATION_TIMEOUT)
    chat.press(last, "Terminé (4)")
    await chat.expect(french_step(7, "Résultats"))
    assert bot.running, "the bot exited during the outage"
    await stop_when_everything_is_sent(deployment)

    # The outage was real: each method met its pages, and the bot went through them.
    pages = Counter(r.method for r in api.requests if r.fault == "html")
    assert set(pages) == {"getMe", *FLAKY}, pages
    assert all(pages[method] >= 1 for method in FLAKY), pages

    # Every button press had its spinner stopped, and the command menus were set after
    # Telegram asked to wait: everyone's, and the technician's in his chat.
    presses = {str(u["callback_query"]["id"]) for u in api.updates if "callback_query" in u}
    answered = {str(r.params["callback_query_id"]) for r in api.sent("answerCallbackQuery")}
    assert presses and presses <= answered, presses - answered
    assert next(r.status for r in api.requests if r.method == "setMyCommands") == 429
    everyones = [c["command"] for c in api.menu_seen(999, "fr")]
    assert everyones == ["start", "help", "lang", "verify"]
    assert api.menu_seen(PAUL.id, "fr")[0]["command"] == "today"

    # Every answer and every photo stored once, every update handled, none failed.
    row = deployment.query(
        "SELECT context, objective, work_done FROM interventions WHERE number = ?", number
    )
    assert row == [(answers["context"], answers["objective"], answers["work_done"])]
    kept = deployment.query(
        "SELECT a.sha256, a.size FROM attachments a JOIN interventions i"
        " ON i.id = a.intervention_id WHERE i.number = ? AND a.kind = 'photo'",
        number,
    )
    assert Counter(kept) == Counter(
        (hashlib.sha256(data).hexdigest(), len(data)) for data in photos
    )
    states = deployment.query("SELECT state, count(*) FROM inbox_updates GROUP BY state")
    assert states == [("done", len(api.updates))], states
    stored = deployment.query("SELECT count(DISTINCT update_id), count(*) FROM inbox_updates")
    assert stored == [(len(api.updates), len(api.updates))]

    # Nobody was told something went wrong, and the token was never written down.
    sorry = [r.summary() for r in api.requests if SORRY in str(r.params.get("text", ""))]
    assert not sorry, sorry
    log = "".join(path.read_text(errors="replace") for path in bot.runs)
    assert "502 Bad Gateway with an HTML page" in log
    assert api.token not in log
    assert "Traceback" not in log, "every page is an expected network error, not a crash"
