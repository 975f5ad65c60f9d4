"""End to end: what each chat's menu shows, what the bot says it is, a group joined,
and "sending a file…" while an export is made, through `python -m bot` against the
fake Bot API (test_e2e.py says how the bot is run and its log shown on failure).

The people are registered with the command line before the bot starts, as an
operator would: their chats get their role's menu once the bot runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakeapi import FakeBotAPI, FakeUser
from tests.test_e2e import Deployment, shows_bot_log
from tests.test_e2e_report import (
    OFFICE_CHAT,
    PAUL,
    STEP_TIMEOUT,
    Chat,
    plan_intervention,
    register_technician,
    register_with_cli,
    stop_when_everything_is_sent,
)

SOPHIE = FakeUser(630_001, "Sophie", username="sophie_bureau", language_code="fr")
#: Someone the bot does not know, whose phone speaks German.
HANS = 630_002
SITE_GROUP = -100888


@pytest.fixture
def deployment_env() -> dict[str, str]:
    return {"OFFICE_CHAT_ID": str(OFFICE_CHAT)}


def names(commands: list[dict[str, Any]]) -> list[str]:
    return [command["command"] for command in commands]


@pytest.mark.e2e
@shows_bot_log
async def test_each_chat_shows_its_menu_and_an_export_shows_sending_a_file(
    api: FakeBotAPI, deployment: Deployment
) -> None:
    await register_technician(deployment, PAUL, "Paul Lefèvre")
    await register_with_cli(deployment, SOPHIE, "dispatcher", "Sophie Martin")
    await plan_intervention(deployment, PAUL, client_name="Boulangerie Martin", contact="M. Roy")
    await deployment.bot.start(api)

    def all_set() -> bool:
        return bool(
            api.menu_seen(PAUL.id, "en")
            and api.menu_seen(SOPHIE.id, "fr")
            and api.menu_seen(OFFICE_CHAT, "fr")
            and api.menu_seen(HANS, "de")
            and api.description_seen("de", short=True)
        )

    await deployment.until(all_set, timeout=STEP_TIMEOUT, what="every menu and description set")
    assert names(api.menu_seen(HANS, "de")) == ["start", "help", "lang", "verify"]
    assert api.menu_seen(HANS, "de")[0]["description"] == "Home"
    assert api.description_seen("de").startswith("I am your company's field intervention")
    assert api.description_seen("fr").startswith("Je suis l'assistant d'intervention")
    technician = api.menu_seen(PAUL.id, "fr")
    assert names(technician) == [
        *("today", "list", "new", "resume", "cancel", "verify", "help", "lang")
    ]
    assert technician[0]["description"] == "Mes interventions du jour"
    assert api.menu_seen(PAUL.id, "en")[0]["description"] == "My interventions today"
    assert names(api.menu_seen(SOPHIE.id, "fr"))[:3] == ["plan", "board", "change"]
    assert "today" not in names(api.menu_seen(SOPHIE.id, "fr"))
    assert names(api.menu_seen(OFFICE_CHAT, "fr")) == [
        *("plan", "board", "change", "find", "client", "export", "stats", "cancel", "help")
    ]

    api.add_bot_to_group(SOPHIE, api.group_chat(SITE_GROUP, "Chantier Nord"))
    said = await deployment.message_to(SITE_GROUP, f"OFFICE_CHAT_ID={SITE_GROUP}")
    assert f"L'identifiant de ce groupe est {SITE_GROUP}" in (said.text or "")

    chat = Chat(deployment, SOPHIE)
    chat.say("/export")
    document = await chat.expect("", method="sendDocument")
    shown = [
        r.params["action"] for r in api.sent("sendChatAction", SOPHIE.id) if r.time <= document.time
    ]
    assert "upload_document" in shown, shown
    # "typing…" only if the export was slow to start, never over "sending a file…".
    assert "typing" not in shown[shown.index("upload_document") :], shown
    await stop_when_everything_is_sent(deployment)
