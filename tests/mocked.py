"""A Bot whose session records every request instead of reaching Telegram, and a
harness that feeds updates through the real ingest path (store, then handle in a
unit of work) to the real Dispatcher.

The session answers the methods a conversation uses with the JSON shapes Telegram
would; any other method fails the test, so an unexpected Bot API call is caught.
Its answers are read by the bot's own session code (bot.requests.ReadableAnswers),
so an nginx error page or a failed download is seen as in production.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods.base import TelegramMethod, TelegramType
from aiohttp import ClientPayloadError, ClientResponseError, RequestInfo
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from bot import requests
from bot.ratelimit import RateLimiter
from bot.requests import ReadableAnswers
from tests.fakeapi import ADMIN_RIGHTS, menu_seen, nginx_page
from tests.fakeapi import FakeUser as Person

BOT_ID = 424242
BOT_USERNAME = "terrain_test_bot"
TOKEN = f"{BOT_ID}:TEST-token-for-recording"


@dataclass
class Call:
    """One recorded Bot API request."""

    method: str
    params: dict[str, Any]
    #: Answered with a queued failure (an error, an HTML page): the person saw nothing.
    failed: bool = False

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data) of every inline button of the message."""
        markup = self.params.get("reply_markup") or {}
        return [
            (button["text"], button.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Bureau"}
    return {"id": chat_id, "type": "private", "first_name": "Person"}


@dataclass
class FakeTransport(BaseSession):
    """Records requests; answers known methods; fails on anything else."""

    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Files the bot may download, by file_id: (file_path, bytes).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: What the next downloads meet, in order: an HTTP status, "cut" (half the file, then
    #: the connection is lost) or "short" (half the file, and the answer ends as if whole).
    download_failures: list[int | str] = field(default_factory=list)
    #: The commands set so far, by (scope as JSON, language), as FakeBotAPI keeps them.
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    _message_ids: Any = field(default_factory=lambda: itertools.count(1000))

    def __post_init__(self) -> None:
        super().__init__()

    def fail_next(self, method: str, status: int, description: str, **parameters: Any) -> None:
        """Answer the next call of `method` with an error, as Telegram would."""
        error: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            error["parameters"] = parameters
        self.failures.setdefault(method, []).append({"status": status, "body": error})

    def html_next(self, method: str, status: int = 502, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with nginx's HTML error page, as
        Telegram's front end does during an outage."""
        for _ in range(times):
            self.failures.setdefault(method, []).append(
                {"status": status, "raw": nginx_page(status)}
            )

    def fail_download_next(self, *failures: int | str) -> None:
        """The next downloads meet these failures, in order (see download_failures)."""
        self.download_failures.extend(failures)

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        for path, data in self.files.values():
            if url.endswith("/" + path):
                failure = self.download_failures.pop(0) if self.download_failures else None
                call = Call("download", {"file_path": path}, failed=failure is not None)
                self.calls.append(call)
                if failure == "short":
                    yield data[: len(data) // 2]
                    return
                if failure == "cut":
                    # What aiohttp raises when the connection ends before Content-Length.
                    yield data[: len(data) // 2]
                    raise ClientPayloadError("Response payload is not completed")
                if isinstance(failure, int):
                    # What aiohttp raises for an error status (raise_for_status), URL included.
                    info = RequestInfo(URL(url), "GET", CIMultiDictProxy(CIMultiDict()), URL(url))
                    raise ClientResponseError(
                        info, (), status=failure, message="error", headers=None
                    )
                yield data
                return
        raise AssertionError(f"unexpected download of {url}")

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        name = method.__api_method__
        files: dict[str, Any] = {}
        params = {
            key: self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            for key, value in method.model_dump(warnings=False).items()
        }
        params = {key: value for key, value in params.items() if value is not None}
        self.calls.append(Call(name, params))
        queued = self.failures.get(name)
        if queued:
            failure = queued.pop(0)
            self.calls[-1].failed = True
            body = failure["raw"] if "raw" in failure else json.dumps(failure["body"])
            response = self.check_response(bot, method, failure["status"], body)
            return response.result  # type: ignore[return-value]  # pragma: no cover
        result = self._answer(name, params)
        response = self.check_response(bot, method, 200, json.dumps({"ok": True, "result": result}))
        return response.result  # type: ignore[return-value]

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(int(params["chat_id"])),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Terrain"},
            **content,
        }

    def _answer(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Terrain",
                "username": BOT_USERNAME,
            }
        if name == "getFile":
            if params["file_id"] not in self.files:
                raise AssertionError(f"getFile of an unknown file {params['file_id']}")
            path, data = self.files[params["file_id"]]
            return {
                "file_id": params["file_id"],
                "file_unique_id": "u" + params["file_id"],
                "file_size": len(data),
                "file_path": path,
            }
        if name == "sendMessage":
            content = {"text": params["text"]}
            if "inline_keyboard" in params.get("reply_markup", {}):
                content["reply_markup"] = params["reply_markup"]
            return self._message(params, **content)
        if name == "editMessageText":
            return self._message(params, text=params["text"], edit_date=int(time.time()))
        if name == "sendLocation":
            location = {"latitude": params["latitude"], "longitude": params["longitude"]}
            return self._message(params, location=location)
        if name == "editMessageCaption":
            return self._message(
                params, caption=params.get("caption", ""), edit_date=int(time.time())
            )
        if name == "sendDocument":
            document = {"file_id": "DOC", "file_unique_id": "DOCU", "file_name": "file"}
            return self._message(params, document=document)
        if name == "sendVoice":
            return self._message(
                params, voice={"file_id": "VOICE", "file_unique_id": "VOICEU", "duration": 1}
            )
        if name == "sendAudio":
            return self._message(
                params, audio={"file_id": "AUDIO", "file_unique_id": "AUDIOU", "duration": 1}
            )
        if name == "sendPhoto":
            size = {"file_unique_id": "PHOTOU", "width": 1280, "height": 960}
            return self._message(params, photo=[{"file_id": "PHOTO", **size}])
        if name in ("setMyCommands", "deleteMyCommands"):
            scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
            key = (scope, str(params.get("language_code") or ""))
            if name == "setMyCommands":
                self.commands[key] = params["commands"]
            else:
                self.commands.pop(key, None)
            return True
        if name in (
            "answerCallbackQuery",
            "deleteMessage",
            "editMessageReplyMarkup",
            "sendChatAction",
        ):
            return True
        raise AssertionError(f"unexpected Bot API call {name} {params}")

    def menu_seen(self, chat_id: int, language_code: str | None = None) -> list[dict[str, Any]]:
        """The commands the menu of chat `chat_id` shows a person whose Telegram
        speaks `language_code` (tests.fakeapi.menu_seen)."""
        return menu_seen(self.commands, chat_id, language_code)

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.method == method and (chat_id is None or call.chat_id == chat_id)
        ]


class RecordingSession(ReadableAnswers, FakeTransport):
    """The fake transport read by the bot's own session code, as in production."""


def recording_bot(limiter: RateLimiter | None = None) -> tuple[Bot, RecordingSession]:
    session = RecordingSession()
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    return requests.install(bot, limiter), session


class Updates:
    """Builds updates with the shapes Telegram sends, numbering them in order."""

    def __init__(self) -> None:
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    def message(
        self, person: Person, text: str, chat_id: int | None = None, **extra: Any
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(chat_id if chat_id is not None else person.id),
            "from": person.to_dict(),
            **extra,
        }
        if text:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": next(self._update_ids), "message": message}

    def photo(
        self,
        person: Person,
        session: RecordingSession,
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        """A photo message whose largest size the bot can download from `session`."""
        file_id = file_id or f"photo{next(self._update_ids)}"
        session.files[file_id] = (f"photos/{file_id}.jpg", data)
        sizes = [
            {
                "file_id": f"{file_id}-s",
                "file_unique_id": f"u{file_id}-s",
                "width": 90,
                "height": 67,
                "file_size": 1000,
            },
            {
                "file_id": file_id,
                "file_unique_id": "u" + file_id,
                "width": 1280,
                "height": 960,
                "file_size": len(data),
            },
        ]
        extra: dict[str, Any] = {"photo": sizes}
        if caption:
            extra["caption"] = caption
        if media_group_id:
            extra["media_group_id"] = media_group_id
        return self.message(person, "", **extra)

    def document(
        self,
        person: Person,
        session: RecordingSession,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        file_size: int | None = None,
        caption: str | None = None,
    ) -> dict[str, Any]:
        """A file sent as a document (its declared size may be faked with file_size)."""
        file_id = f"doc{next(self._update_ids)}"
        session.files[file_id] = (f"documents/{file_id}", data)
        document = {
            "file_id": file_id,
            "file_unique_id": "u" + file_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size if file_size is not None else len(data),
        }
        extra: dict[str, Any] = {"document": document}
        if caption:
            extra["caption"] = caption
        return self.message(person, "", **extra)

    def voice(
        self,
        person: Person,
        session: RecordingSession,
        data: bytes,
        duration: int,
        *,
        file_id: str | None = None,
        file_size: int | None = None,
        audio: str | None = None,
        caption: str | None = None,
    ) -> dict[str, Any]:
        """A voice message (or, with `audio` its file name, an audio file) the bot can
        download from `session` (its declared size may be faked with file_size)."""
        file_id = file_id or f"voice{next(self._update_ids)}"
        session.files[file_id] = (f"voice/{file_id}.oga", data)
        sound: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": "u" + file_id,
            "duration": duration,
            "mime_type": "audio/mpeg" if audio else "audio/ogg",
            "file_size": file_size if file_size is not None else len(data),
        }
        if audio:
            sound["file_name"] = audio
        extra: dict[str, Any] = {"audio" if audio else "voice": sound}
        if caption:
            extra["caption"] = caption
        return self.message(person, "", **extra)

    def edited(
        self, sent: dict[str, Any], text: str | None = None, *, caption: str | None = None
    ) -> dict[str, Any]:
        """The message of update `sent` as its sender edited it: the same message_id,
        chat and sender, the new text (or caption) and an edit_date, in a new update."""
        message = dict(sent.get("message") or sent["edited_message"])
        if text is not None:
            message["text"] = text
            message.pop("entities", None)
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if caption is not None:
            message["caption"] = caption
        message["edit_date"] = int(time.time())
        return {"update_id": next(self._update_ids), "edited_message": message}

    def bot_member(self, person: Person, chat_id: int, *, old: str, new: str) -> dict[str, Any]:
        """`person` changed the bot's status in group `chat_id` from `old` to `new`
        ("left", "member", "administrator", "kicked"...): a my_chat_member update."""
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Terrain", "username": BOT_USERNAME}

        def member(status: str) -> dict[str, Any]:
            found: dict[str, Any] = {"status": status, "user": bot}
            if status == "kicked":
                found["until_date"] = 0
            if status == "administrator":
                found.update(dict.fromkeys(ADMIN_RIGHTS, False), can_manage_chat=True)
            return found

        return {
            "update_id": next(self._update_ids),
            "my_chat_member": {
                "chat": _chat(chat_id),
                "from": person.to_dict(),
                "date": int(time.time()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        }

    def press(self, person: Person, on: Call, data: str) -> dict[str, Any]:
        """A press on a button `data` of the recorded message `on` (a picture or a file
        when `on` sent one, with its caption)."""
        chat_id = on.chat_id if on.chat_id is not None else person.id
        content: dict[str, Any] = {"text": on.text}
        caption = str(on.params.get("caption", ""))
        if on.method == "sendPhoto":
            size = {"file_id": "PHOTO", "file_unique_id": "PHOTOU", "width": 1280, "height": 960}
            content = {"photo": [size], "caption": caption}
        elif on.method == "sendDocument":
            document = {"file_id": "DOC", "file_unique_id": "DOCU", "file_name": "file"}
            content = {"document": document, "caption": caption}
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": str(next(self._update_ids)),
                "from": person.to_dict(),
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "chat": _chat(chat_id),
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Terrain"},
                    **content,
                },
            },
        }


def button(call: Call, match: Callable[[str], bool] | str) -> str:
    """The callback data of the button whose text matches (a substring or a predicate)."""
    for text, data in call.buttons():
        if (match in text) if isinstance(match, str) else match(text):
            return data
    raise AssertionError(f"no button matching {match!r} in {call.buttons()}")
