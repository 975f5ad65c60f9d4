"""A local fake of the Telegram Bot API, for tests and manual tries.

``FakeBotAPI`` is a small aiohttp web server that speaks enough of the Bot
API for the bot to run against it unchanged: point aiogram at it with
``AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))``.

What it offers:

* the method routes ``{base}/bot{token}/{method}`` and the file download route
  ``{base}/file/bot{token}/{file_path}``, answering with the real JSON shapes
  (``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ...}``);
* parameters as a JSON body, an urlencoded form or multipart/form-data (what
  aiogram sends), with JSON-encoded fields such as ``reply_markup`` decoded
  and uploaded files kept in memory;
* a queue of updates the test fills (``send_text``, ``send_photo``,
  ``press_button``...) that ``getUpdates`` serves with real offset and long
  polling semantics, or, once the bot has called ``setWebhook``, that is posted
  to the bot's webhook as Telegram does (one update at a time, with the secret
  token in its header, again and again until the bot answers 200; every post is
  in ``webhook_posts``);
* a record of every request (``requests``, ``sent``, ``wait_sent``...);
* fault injection (``fail_next``, ``drop_next``, ``delay``, ``block``), and
  answers that are not JSON, as Telegram's nginx front end gives during an
  outage (``html_next``, ``flaky``, ``truncate_next``, ``empty_next``).

A few realistic checks are made, because a real bot trips on them in
production: HTML ``parse_mode`` is parsed (the echoed message carries the
plain text and entities, bad markup answers 400 "can't parse entities"), text
and caption lengths, callback data length, command names, "message is not
modified" edits, and the 20 MB download limit.

Run ``python -m tests.fakeapi --port 8081`` to serve it by hand: lines typed
on the console are sent to the bot as a user's messages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import itertools
import json
import math
import mimetypes
import random
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

__all__ = [
    "APIError",
    "FakeBotAPI",
    "FakeUser",
    "RandomFaults",
    "Recorded",
    "StoredFile",
    "UploadedFile",
    "WebhookPost",
    "menu_seen",
]

JSON = dict[str, Any]
"""A decoded JSON object (an update, a message, request parameters...)."""

T = TypeVar("T")

DEFAULT_TOKEN = "123456:TEST-token"
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
"""Files bigger than this can't be fetched with getFile (Bot API limit)."""
MAX_UPLOAD_SIZE = 50 * 1024 * 1024
"""Largest request body accepted (Bot API upload limit)."""
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
ADMIN_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
)
"""What a ``ChatMemberAdministrator`` says of its rights."""

DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

#: The reason phrases of nginx's own error pages.
NGINX_REASONS: dict[int, str] = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}

# Form fields that are plain strings in the Bot API; every other form field
# is tried as JSON ("123" -> 123, "true" -> True, '{"a": 1}' -> dict...).
STRING_FIELDS = frozenset(
    {
        "address",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "custom_title",
        "description",
        "document",
        "emoji",
        "file_id",
        "first_name",
        "inline_message_id",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "parse_mode",
        "performer",
        "phone_number",
        "photo",
        "query",
        "secret_token",
        "short_description",
        "sticker",
        "text",
        "title",
        "url",
        "vcard",
        "video",
        "voice",
    }
)

# File kind -> directory of its file_path, as the real API names them.
FILE_FOLDERS: dict[str, str] = {
    "photo": "photos",
    "document": "documents",
    "video": "videos",
    "audio": "music",
    "voice": "voice",
    "animation": "animations",
    "sticker": "stickers",
}

MEDIA_METHODS: dict[str, str] = {
    "sendDocument": "document",
    "sendPhoto": "photo",
    "sendVideo": "video",
    "sendAudio": "audio",
    "sendVoice": "voice",
    "sendAnimation": "animation",
}

COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and "
    "reply markup are exactly the same as a current content and reply markup "
    "of the message"
)


class APIError(Exception):
    """An error answer of the Bot API, raised inside request handlers.

    ``status`` is both the HTTP status and ``error_code``; ``retry_after``
    becomes ``parameters.retry_after`` (used with 429).
    """

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> JSON:
        """The response body the real API would send for this error."""
        body: JSON = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> APIError:
    """A 400 error with the real API's "Bad Request: ..." prefix."""
    return APIError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user that sends updates to the bot."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "fr"
    last_name: str | None = None

    def to_dict(self) -> JSON:
        """The ``User`` object of this user."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name is not None:
            user["last_name"] = self.last_name
        if self.username is not None:
            user["username"] = self.username
        if self.language_code is not None:
            user["language_code"] = self.language_code
        return user

    def private_chat(self) -> JSON:
        """The ``Chat`` object of the private chat between this user and the bot."""
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            chat["last_name"] = self.last_name
        if self.username is not None:
            chat["username"] = self.username
        return chat


@dataclass
class UploadedFile:
    """A file uploaded by the bot in a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class StoredFile:
    """A file known to the server, which getFile and the download route serve.

    ``file_size`` may be larger than ``len(data)`` to simulate big files.
    """

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_size: int
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def too_big(self) -> bool:
        """True when the real API would refuse getFile (over 20 MB)."""
        return self.file_size > MAX_DOWNLOAD_SIZE

    def to_file(self) -> JSON:
        """The ``File`` object getFile answers."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


@dataclass
class Recorded:
    """One request received by the server, and its answer once given."""

    method: str
    params: JSON
    files: dict[str, UploadedFile]
    time: float
    token: str
    status: int | None = None
    response: JSON | None = None
    fault: str | None = None
    """How the answer was spoiled on its way back to the bot ("html", "dropped",
    "dropped after handling", "truncated", "empty"); None when it left whole.
    ``status`` and ``response`` still say what the server did: a call spoiled
    after handling was done (a message was sent) though the bot never heard."""

    @property
    def answered(self) -> bool:
        """True once the server has answered the request."""
        return self.status is not None

    @property
    def ok(self) -> bool:
        """True when the request was answered with success."""
        return self.status == 200

    @property
    def result(self) -> Any:
        """The ``result`` of a successful answer, else None."""
        if self.response is None or not self.response.get("ok"):
            return None
        return self.response.get("result")

    @property
    def chat_id(self) -> Any:
        """The ``chat_id`` parameter (an int when numeric), if any."""
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """Text (or caption) as Telegram shows it: parsed result, else param."""
        result = self.result
        if isinstance(result, dict):
            for key in ("text", "caption"):
                if isinstance(result.get(key), str):
                    return str(result[key])
        for key in ("text", "caption"):
            if isinstance(self.params.get(key), str):
                return str(self.params[key])
        return None

    def upload(self, param: str | None = None) -> UploadedFile | None:
        """The file uploaded for parameter ``param`` (``attach://`` resolved).

        Without ``param``, the first uploaded file of the request.
        """
        if param is None:
            return next(iter(self.files.values()), None)
        value = self.params.get(param)
        if isinstance(value, str) and value.startswith("attach://"):
            return self.files.get(value.removeprefix("attach://"))
        return self.files.get(param)

    def summary(self) -> str:
        """One line describing the request, for error messages."""
        parts = [self.method]
        if self.chat_id is not None:
            parts.append(f"chat_id={self.chat_id}")
        keys = ("message_id", "text", "caption", "callback_query_id", "file_id", "action", "offset")
        for key in keys:
            if key in self.params:
                value = repr(self.params[key])
                parts.append(f"{key}={value[:80]}")
        if self.files:
            names = ", ".join(f.filename for f in self.files.values())
            parts.append(f"files=[{names}]")
        if self.fault is not None:
            parts.append(f"[{self.fault}]")
        if self.status is None:
            parts.append("-> (pending)")
        elif self.ok:
            parts.append("-> ok")
        else:
            description = (self.response or {}).get("description")
            parts.append(f"-> {self.status} {description!r}")
        return " ".join(parts)


@dataclass
class WebhookPost:
    """One post of an update to the bot's webhook, as Telegram makes it."""

    update_id: int
    url: str
    secret_token: str | None
    time: float
    #: The bot's answer; None when there was none (connection refused or cut, timeout).
    status: int | None = None
    error: str = ""


@dataclass
class _Fault:
    """A queued failure of one call. ``kind`` says which:

    * "error": a JSON error answer with ``status`` (the call is not handled);
    * "drop": the connection is closed before the call is handled;
    * "html": an nginx HTML error page with ``status`` (not handled);
    * "drop_after": the call is handled, then the connection is closed;
    * "truncated": the call is handled and its answer cut after ``keep`` bytes
      (half when None);
    * "empty": the call is handled and answered with an empty body.
    """

    status: int
    description: str
    retry_after: int | None
    kind: str = "error"
    keep: int | None = None

    @property
    def after_handling(self) -> bool:
        return self.kind in ("drop_after", "truncated", "empty")


@dataclass
class _Flaky:
    """Every ``every``-th call of a method gets an nginx page with ``status``."""

    every: int
    status: int
    calls: int = 0


def nginx_page(status: int) -> str:
    """The HTML error page nginx serves in front of the Bot API for ``status``."""
    reason = NGINX_REASONS.get(status) or HTTPStatus(status).phrase
    title = f"{status} {reason}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )


@dataclass
class _Delay:
    """A delay applied before answering a method; ``times`` None is forever."""

    seconds: float
    times: int | None


@dataclass
class _Tag:
    """An open tag while parsing HTML markup."""

    name: str
    offset: int
    attrs: dict[str, str] = field(default_factory=dict)
    language: str | None = None


Handler = Callable[[JSON, dict[str, UploadedFile]], Awaitable[Any]]
CustomResult = Callable[[JSON, dict[str, UploadedFile]], Any]


def menu_seen(
    commands: dict[tuple[str, str], list[JSON]], chat_id: int, language_code: str | None
) -> list[JSON]:
    """The commands Telegram shows in the menu of chat ``chat_id`` to a person whose
    app speaks ``language_code``, from the commands set by scope and language
    (``FakeBotAPI.commands``): the narrowest scope that has some (the chat's own,
    then all private or all group chats, then the default), for the reader's
    language first, then for any language."""
    every = "all_private_chats" if chat_id > 0 else "all_group_chats"
    scopes = [{"type": "chat", "chat_id": chat_id}, {"type": every}, {"type": "default"}]
    for scope in scopes:
        key = json.dumps(scope, sort_keys=True)
        for language in (language_code or "", ""):
            found = commands.get((key, language))
            if found:
                return found
    return []


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def decode_form_value(key: str, value: str) -> Any:
    """Decode one form field the way the Bot API reads it.

    String fields stay strings; other fields that parse as JSON numbers,
    booleans, objects or arrays are decoded (aiogram JSON-encodes them).
    """
    if key in STRING_FIELDS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if decoded is None or isinstance(decoded, str):
        return value
    return decoded


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG image, or None if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] != b"\xff\xd8":
        return None
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker == 0xFF:
            index += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:
            index += 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[index + 5 : index + 7], "big")
            width = int.from_bytes(data[index + 7 : index + 9], "big")
            return width, height
        index += 2 + int.from_bytes(data[index + 2 : index + 4], "big")
    return None


HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
    "blockquote": "blockquote",
}
HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
HTML_ATTR_RE = re.compile(r"""\s*([A-Za-z_:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


def _html_entity(match: re.Match[str]) -> str:
    """The character an HTML entity matched by ``HTML_ENTITY_RE`` stands for."""
    name = match.group(1)
    try:
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
    except (ValueError, OverflowError):
        return match.group(0)
    return {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name]


def parse_html(markup: str) -> tuple[str, list[JSON]]:
    """Parse Bot API HTML markup into plain text and message entities.

    Follows the rules of the real parser closely enough to reject what it
    rejects: unknown tags, a bare ``<``, unclosed or mismatched tags.

    Raises:
        APIError: 400 "can't parse entities" on invalid markup.
    """
    out: list[str] = []
    position = 0  # in UTF-16 code units
    stack: list[_Tag] = []
    entities: list[JSON] = []
    index = 0

    def fail(reason: str) -> APIError:
        return bad_request(f"can't parse entities: {reason}")

    def append(text: str) -> None:
        nonlocal position
        out.append(text)
        position += utf16_len(text)

    while index < len(markup):
        char = markup[index]
        if char == "&":
            match = HTML_ENTITY_RE.match(markup, index)
            if match is None:
                append("&")
                index += 1
                continue
            append(_html_entity(match))
            index = match.end()
            continue
        if char != "<":
            append(char)
            index += 1
            continue

        byte_offset = len(markup[:index].encode())
        end = index + 1
        quote: str | None = None
        while end < len(markup) and (markup[end] != ">" or quote is not None):
            if markup[end] in "\"'":
                quote = None if quote == markup[end] else quote or markup[end]
            end += 1
        if markup.startswith("</", index):
            if end >= len(markup):
                raise fail(f"Unclosed end tag at byte offset {byte_offset}")
            name = markup[index + 2 : end].strip().lower()
            if not stack:
                raise fail(f'Unexpected end tag "{name}" at byte offset {byte_offset}')
            tag = stack.pop()
            if tag.name != name:
                raise fail(
                    f"Unmatched end tag at byte offset {byte_offset}, expected "
                    f'"</{tag.name}>", found "</{name}>"'
                )
            _close_tag(tag, position, stack, entities)
            index = end + 1
            continue

        name_end = index + 1
        while name_end < end and not markup[name_end].isspace():
            name_end += 1
        name = markup[index + 1 : name_end].lower()
        if end >= len(markup):
            raise fail(f"Unclosed start tag at byte offset {byte_offset}")
        if name not in HTML_TAGS:
            raise fail(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
        attrs: dict[str, str] = {}
        for attr in HTML_ATTR_RE.finditer(markup[name_end:end]):
            value = attr.group(2) or attr.group(3) or attr.group(4) or ""
            attrs[attr.group(1).lower()] = HTML_ENTITY_RE.sub(_html_entity, value)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset}')
        stack.append(_Tag(name=name, offset=position, attrs=attrs))
        index = end + 1

    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(out), entities


def _close_tag(tag: _Tag, position: int, stack: list[_Tag], entities: list[JSON]) -> None:
    """Turn a closed HTML tag into a message entity (empty ones are dropped)."""
    length = position - tag.offset
    language = tag.attrs.get("class", "")
    parent_is_pre = bool(stack) and stack[-1].name == "pre"
    if tag.name == "code" and parent_is_pre and language.startswith("language-"):
        stack[-1].language = language.removeprefix("language-")
        return
    if length <= 0:
        return
    entity: JSON = {"type": HTML_TAGS[tag.name], "offset": tag.offset, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    entities.append(entity)


def inline_buttons(message: JSON) -> list[JSON]:
    """All inline keyboard buttons of a message dict, row after row."""
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


class FakeBotAPI:
    """A fake Telegram Bot API server on 127.0.0.1.

    Use it as ``async with FakeBotAPI() as api: ...`` or call ``start()`` and
    ``stop()``. Public state, all readable by tests:

    * ``requests``: every request received, as ``Recorded``;
    * ``updates``: every update ever pushed; ``confirmed_offset``: the highest
      offset the bot confirmed through getUpdates;
    * ``messages``: the current state of every message, by (chat_id,
      message_id), the bot's and the users'; ``deleted_messages``;
    * ``files``: every known file by file_id;
    * ``commands``, ``menu_buttons``, ``webhook_url``, ``blocked_chats``,
      ``chats`` (chat objects seen in pushed updates), ``descriptions``;
      ``menu_seen`` and ``description_seen`` say what a person is shown;
    * with a webhook set: ``webhook_secret_token``, ``webhook_allowed_updates``
      (as given to setWebhook) and ``webhook_posts``, every post made to it.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int | None = None,
        username: str = "terrain_test_bot",
        first_name: str = "Terrain Test",
        host: str = "127.0.0.1",
        port: int = 0,
        parse_html: bool = True,
    ) -> None:
        """Prepare the server (nothing listens before ``start()``).

        Args:
            token: the only token accepted; others get 401 Unauthorized.
            bot_id: the bot's user id, by default the token's numeric prefix.
            username: the bot's username, without "@".
            first_name: the bot's display name.
            host: address to bind.
            port: port to bind, 0 for a free one.
            parse_html: parse ``parse_mode=HTML`` text like the real API; when
                False, text is echoed unchanged.
        """
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = bot_id if bot_id is not None else int(prefix) if prefix.isdigit() else 1
        self.username = username
        self.first_name = first_name
        self.host = host
        self.port = port
        self.parse_html = parse_html

        self.requests: list[Recorded] = []
        self.updates: list[JSON] = []
        self.confirmed_offset = 0
        self.allowed_updates: list[str] | None = None
        self.messages: dict[tuple[int, int], JSON] = {}
        self.deleted_messages: list[JSON] = []
        self.files: dict[str, StoredFile] = {}
        self.chats: dict[int, JSON] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        """The bot's texts by (``description`` or ``short_description``, language)."""
        self.menu_buttons: dict[int | None, JSON] = {}
        self.webhook_url = ""
        self.webhook_secret_token: str | None = None
        self.webhook_allowed_updates: list[str] | None = None
        self.webhook_posts: list[WebhookPost] = []
        self.webhook_retry_delay = 0.2
        """Seconds between two posts of an update the bot did not answer with 200."""
        self.webhook_timeout = 60.0
        """Seconds a post waits for the bot's answer."""
        self.blocked_chats: set[int] = set()
        self.listeners: list[Callable[[Recorded], None]] = []
        """Called with each request once it is answered."""
        self.random_faults: RandomFaults | None = None
        """While set, spoils a share of the calls at random (see ``RandomFaults``)."""

        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._media_group_ids = itertools.count(1)
        self._files_by_path: dict[str, StoredFile] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._flaky: dict[str, _Flaky] = {}
        self._delays: dict[str, _Delay] = {}
        self._custom: dict[str, Any] = {}
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._webhook_poster: asyncio.Task[None] | None = None
        self._handlers: dict[str, tuple[str, Handler]] = {}
        for name, handler in self._builtin_handlers().items():
            self._handlers[name.lower()] = (name, handler)

    # ------------------------------------------------------------------
    # Life cycle

    @property
    def base_url(self) -> str:
        """``http://host:port``, to give to ``TelegramAPIServer.from_base``."""
        if not self.port:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def bot_user(self) -> JSON:
        """The bot's ``User`` object as it appears in messages."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    async def start(self) -> None:
        """Start listening; the port is kept across ``stop()``/``start()``."""
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=MAX_UPLOAD_SIZE + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._serve_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            await runner.cleanup()
            raise
        self.port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        self._runner = runner

    async def stop(self) -> None:
        """Stop the server, releasing long polls and hanging requests."""
        if self._runner is None:
            return
        self._closing = True
        self._notify()
        poster, self._webhook_poster = self._webhook_poster, None
        if poster is not None:
            poster.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poster
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------
    # Change notification

    def _notify(self) -> None:
        """Wake up everything waiting for a change (long polls, wait_for)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, event: asyncio.Event, seconds: float | None) -> None:
        """Wait until ``event`` (taken before checking) fires, at most ``seconds``."""
        if seconds is not None and seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    # ------------------------------------------------------------------
    # Test-side helpers: updates

    def push_update(self, update: JSON) -> JSON:
        """Queue a raw update for getUpdates and return it.

        ``update_id`` is assigned when missing. Messages and chats it carries
        are remembered, so the bot's answers echo the right chat objects.
        """
        update = dict(update)
        if "update_id" in update:
            last = int(update["update_id"])
            self._update_ids = itertools.count(max(last + 1, next(self._update_ids)))
        else:
            update["update_id"] = next(self._update_ids)
        for key in ("message", "edited_message", "channel_post"):
            message = update.get(key)
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                self._remember_chat(message["chat"])
                self._store(message)
        self.updates.append(update)
        self._notify()
        return update

    def push_message(self, user: FakeUser, content: JSON, chat: int | JSON | None = None) -> JSON:
        """Push a ``message`` update from ``user`` with the given content fields.

        ``chat`` is the user's private chat by default; an int picks a chat by
        id (negative: a supergroup), a dict is used as the chat object.
        """
        message: JSON = {
            "message_id": next(self._message_ids),
            "from": user.to_dict(),
            "chat": self._user_chat(user, chat),
            "date": int(time.time()),
        }
        message.update(content)
        return self.push_update({"message": message})

    def send_text(
        self,
        user: FakeUser,
        text: str,
        chat: int | JSON | None = None,
        *,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """Push a text message; a leading "/command" gets a bot_command entity."""
        content: JSON = {"text": text}
        if entities is None:
            entities = []
            match = COMMAND_RE.match(text)
            if match:
                entities.append(
                    {"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
                )
        if entities:
            content["entities"] = entities
        return self.push_message(user, content, chat)

    def send_photo(
        self,
        user: FakeUser,
        photo_bytes: bytes,
        caption: str | None = None,
        media_group_id: str | None = None,
        *,
        chat: int | JSON | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> JSON:
        """Push a photo message; its sizes are registered for getFile.

        Width and height are read from PNG/JPEG/GIF bytes when not given
        (default 1280x960). Every size serves the same bytes.
        """
        content: JSON = {"photo": self._photo_sizes(photo_bytes, width, height)}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self.push_message(user, content, chat)

    def send_document(
        self,
        user: FakeUser,
        data: bytes,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        *,
        chat: int | JSON | None = None,
        file_size: int | None = None,
    ) -> JSON:
        """Push a document message; ``file_size`` over 20 MB makes it too big."""
        stored = self.register_file(
            data, kind="document", file_name=file_name, mime_type=mime_type, file_size=file_size
        )
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": stored.file_size,
        }
        content: JSON = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return self.push_message(user, content, chat)

    def send_location(
        self,
        user: FakeUser,
        lat: float,
        lon: float,
        horizontal_accuracy: float | None = None,
        *,
        chat: int | JSON | None = None,
    ) -> JSON:
        """Push a location message."""
        location: JSON = {"latitude": lat, "longitude": lon}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        return self.push_message(user, {"location": location}, chat)

    def press_button(
        self,
        user: FakeUser,
        message: JSON | Recorded,
        callback_data: str,
        *,
        strict: bool = True,
    ) -> JSON:
        """Push a callback_query: ``user`` pressed a button of ``message``.

        ``message`` is a message dict (or the ``Recorded`` send request that
        produced it); its current state (after edits) is used. With
        ``strict``, the message must exist and have a button with that
        callback_data, else AssertionError.
        """
        if isinstance(message, Recorded):
            message = message.result
            if not isinstance(message, dict):
                raise AssertionError("press_button: the request has no message result")
        key = (message["chat"]["id"], message["message_id"])
        current = self.messages.get(key)
        if current is None:
            if strict:
                raise AssertionError(f"press_button: message {key} does not exist (deleted?)")
            current = message
        if strict:
            datas = [button.get("callback_data") for button in inline_buttons(current)]
            if callback_data not in datas:
                raise AssertionError(
                    f"press_button: no button with callback_data {callback_data!r} "
                    f"on message {key}; buttons: {datas}"
                )
        query: JSON = {
            "id": str(4_000_000_000_000 + next(self._callback_ids)),
            "from": user.to_dict(),
            "message": copy.deepcopy(current),
            "chat_instance": str(abs(key[0]) * 7 + 1_000_000_000_000),
            "data": callback_data,
        }
        return self.push_update({"callback_query": query})

    def add_bot_to_group(
        self, user: FakeUser, chat: JSON | None = None, status: str = "member"
    ) -> JSON:
        """Push the ``my_chat_member`` update Telegram sends when ``user`` adds the
        bot to group ``chat`` (a supergroup by default) with ``status`` ("member"
        or "administrator")."""
        chat = dict(chat or self.group_chat())
        self._remember_chat(chat)
        bot: JSON = {"status": status, "user": self.bot_user}
        if status == "administrator":
            rights = ("can_manage_chat", "can_delete_messages", "can_invite_users")
            bot.update({right: right in rights for right in ADMIN_RIGHTS})
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": user.to_dict(),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": self.bot_user},
                    "new_chat_member": bot,
                }
            }
        )

    @staticmethod
    def group_chat(chat_id: int = -1001000000001, title: str = "Test group") -> JSON:
        """A supergroup ``Chat`` object, to pass as ``chat=``."""
        return {"id": chat_id, "type": "supergroup", "title": title}

    # ------------------------------------------------------------------
    # Test-side helpers: files

    def register_file(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> StoredFile:
        """Make ``data`` downloadable through getFile and return its record.

        ``kind`` ("photo", "document", "video"...) picks the file_path folder.
        A ``file_size`` over 20 MB makes getFile answer "file is too big".
        """
        number = next(self._file_numbers)
        extension = Path(file_name).suffix if file_name else ""
        if not extension and mime_type:
            extension = mimetypes.guess_extension(mime_type) or ""
        if not extension and kind == "photo":
            extension = ".jpg"
        folder = FILE_FOLDERS.get(kind, "documents")
        stored = StoredFile(
            file_id=f"FAKE-{kind}-{number:06d}",
            file_unique_id=f"U{number:06d}",
            file_path=f"{folder}/file_{number}{extension}",
            data=data,
            file_size=len(data) if file_size is None else file_size,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(self, data: bytes, width: int | None, height: int | None) -> list[JSON]:
        """Register ``data`` as a photo and build its PhotoSize list."""
        if width is None or height is None:
            width, height = image_size(data) or (1280, 960)
        longest = max(width, height, 1)
        dimensions: list[tuple[int, int]] = []
        for limit in (90, 320, 800):
            if longest > limit:
                scale = limit / longest
                dimensions.append((max(1, round(width * scale)), max(1, round(height * scale))))
        scale = min(1.0, 2560 / longest)
        dimensions.append((max(1, round(width * scale)), max(1, round(height * scale))))
        sizes: list[JSON] = []
        for size_width, size_height in dimensions:
            stored = self.register_file(data, kind="photo", mime_type="image/jpeg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.file_size,
                    "width": size_width,
                    "height": size_height,
                }
            )
        return sizes

    # ------------------------------------------------------------------
    # Test-side helpers: inspection

    def sent(
        self,
        method: str | None = None,
        chat_id: int | str | None = None,
        *,
        include_failed: bool = False,
    ) -> list[Recorded]:
        """Requests of the bot, oldest first, filtered by method and chat_id.

        Only successfully answered ones unless ``include_failed`` (then failed
        and still pending requests too). Without ``method``, getUpdates
        polling is left out.
        """
        found = []
        for record in self.requests:
            if method is None and record.method == "getUpdates":
                continue
            if method is not None and record.method.lower() != method.lower():
                continue
            if chat_id is not None and str(record.chat_id) != str(chat_id):
                continue
            if not include_failed and not record.ok:
                continue
            found.append(record)
        return found

    def bot_messages(self, chat_id: int | None = None) -> list[JSON]:
        """Current state of the bot's messages still present, oldest first."""
        return [
            message
            for (chat, _), message in sorted(self.messages.items(), key=lambda i: i[0][1])
            if message.get("from", {}).get("id") == self.bot_id
            and (chat_id is None or chat == chat_id)
        ]

    def last_bot_message(self, chat_id: int | None = None) -> JSON:
        """The bot's most recent message (in ``chat_id``); AssertionError if none."""
        messages = self.bot_messages(chat_id)
        if not messages:
            raise AssertionError(f"the bot has no message in chat {chat_id}\n{self.summary()}")
        return messages[-1]

    def menu_seen(self, chat_id: int, language_code: str | None = None) -> list[JSON]:
        """The commands the menu of chat ``chat_id`` shows a person whose Telegram
        speaks ``language_code``, picked as Telegram does (the module's ``menu_seen``)."""
        return menu_seen(self.commands, chat_id, language_code)

    def description_seen(self, language_code: str | None = None, *, short: bool = False) -> str:
        """What a person whose Telegram speaks ``language_code`` reads about the bot
        before pressing Start (``short``: the line of its profile): the text set for
        their language, else the one set for every language."""
        kind = "short_description" if short else "description"
        for language in (language_code or "", ""):
            if (kind, language) in self.descriptions:
                return self.descriptions[(kind, language)]
        return ""

    def summary(self, last: int = 40) -> str:
        """The last recorded requests, one per line, for failure messages."""
        records = self.requests[-last:]
        skipped = len(self.requests) - len(records)
        lines = [f"{len(self.requests)} request(s) recorded" + (":" if records else ".")]
        if skipped:
            lines.append(f"  ... {skipped} older request(s)")
        lines.extend(f"  {record.summary()}" for record in records)
        return "\n".join(lines)

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 10.0,
        description: str | None = None,
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value.

        Checked now, after each request and answer, after each pushed update
        and every 0.1 s. On timeout, AssertionError with a summary of the
        recorded requests.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                what = description or getattr(predicate, "__name__", "predicate")
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}\n{self.summary()}"
                )
            await self._wait_change(event, min(remaining, 0.1))

    async def wait_sent(
        self,
        count: int,
        method: str = "sendMessage",
        chat_id: int | str | None = None,
        timeout: float = 10.0,
    ) -> list[Recorded]:
        """Wait until at least ``count`` successful ``method`` requests exist.

        Returns all such requests (see ``sent``).
        """

        def enough() -> list[Recorded]:
            found = self.sent(method, chat_id)
            return found if len(found) >= count else []

        where = f" to chat {chat_id}" if chat_id is not None else ""
        return await self.wait_for(enough, timeout, f"{count} successful {method}{where}")

    # ------------------------------------------------------------------
    # Test-side helpers: fault injection

    def fail_next(
        self,
        method: str,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error.

        ``method`` may be "*" for any method. ``description`` defaults to the
        real API's text for the status (403: "Forbidden: bot was blocked by the
        user"; 429: "Too Many Requests: retry after N", with ``retry_after``
        defaulting to 1).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        queue = self._faults.setdefault(method.lower(), deque())
        queue.extend(_Fault(status, description, retry_after) for _ in range(times))

    def drop_next(self, method: str, times: int = 1, *, after_handling: bool = False) -> None:
        """Close the connection without answering the next ``times`` calls:
        before the server handles them, or ``after_handling`` (a message is
        sent, an edit is made, but the bot never hears of it)."""
        kind = "drop_after" if after_handling else "drop"
        self._queue(method, times, _Fault(0, "connection dropped", None, kind))

    def html_next(self, method: str, status: int = 502, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` ("*": any; "downloadFile"
        for downloads) with nginx's HTML error page for ``status`` (502, 503,
        504...), content-type text/html, without handling them."""
        self._queue(method, times, _Fault(status, "", None, "html"))

    def flaky(self, method: str, every: int, status: int = 502) -> None:
        """Answer every ``every``-th call of ``method`` ("*": any) with nginx's
        HTML page for ``status``, not handled, until ``clear_faults()``."""
        self._flaky[method.lower()] = _Flaky(every, status)

    def truncate_next(self, method: str, times: int = 1, keep: int | None = None) -> None:
        """Handle the next ``times`` calls, then cut their answer short after
        ``keep`` bytes (half by default). A method's JSON (UTF-8, as Telegram
        writes it) arrives as a complete HTTP answer that is not valid JSON; a
        download announces its whole length, sends the first bytes and closes
        the connection."""
        self._queue(method, times, _Fault(200, "", None, "truncated", keep))

    def empty_next(self, method: str, times: int = 1) -> None:
        """Handle the next ``times`` calls and answer each with an empty body."""
        self._queue(method, times, _Fault(200, "", None, "empty"))

    def _queue(self, method: str, times: int, fault: _Fault) -> None:
        queue = self._faults.setdefault(method.lower(), deque())
        queue.extend(copy.copy(fault) for _ in range(times))

    def delay(self, method: str, seconds: float, times: int | None = None) -> None:
        """Delay answers to ``method`` ("*": any) by ``seconds``.

        ``math.inf`` hangs until ``stop()``; ``times`` None applies to every
        later call; ``seconds`` 0 removes the delay.
        """
        if seconds <= 0:
            self._delays.pop(method.lower(), None)
        else:
            self._delays[method.lower()] = _Delay(seconds, times)

    def hang(self, method: str, times: int | None = None) -> None:
        """Never answer ``method`` (until ``stop()``)."""
        self.delay(method, math.inf, times)

    def clear_faults(self) -> None:
        """Forget every queued error, dropped connection, flaky method and delay."""
        self._faults.clear()
        self._flaky.clear()
        self._delays.clear()

    def block(self, chat_id: int) -> None:
        """Act as if the user blocked the bot: sends to the chat get 403."""
        self.blocked_chats.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo ``block``."""
        self.blocked_chats.discard(chat_id)

    def set_result(self, method: str, result: Any) -> None:
        """Answer ``method`` with ``result`` (or ``result(params, files)``).

        Works for methods the server doesn't know as well; the callable may
        raise ``APIError``. Overrides the built-in handler.
        """
        self._custom[method.lower()] = result

    # ------------------------------------------------------------------
    # HTTP handlers

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        """Decode query string, JSON, urlencoded or multipart parameters."""
        params: JSON = {key: decode_form_value(key, value) for key, value in request.query.items()}
        files: dict[str, UploadedFile] = {}
        if not request.can_read_body:
            return params, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as error:
                raise bad_request("can't parse JSON object") from error
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            for key, value in body.items():
                params[key] = decode_form_value(key, value) if isinstance(value, str) else value
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(
                    field=key,
                    filename=value.filename,
                    content_type=value.content_type,
                    data=value.file.read(),
                )
            elif isinstance(value, str):
                params[key] = decode_form_value(key, value)
        return params, files

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        """Serve ``/bot{token}/{method}``: record, check, fault, dispatch."""
        token = request.match_info["token"]
        raw_method = request.match_info["method"]
        known = self._handlers.get(raw_method.lower())
        method = known[0] if known else raw_method
        record = Recorded(method=method, params={}, files={}, time=time.time(), token=token)
        self.requests.append(record)
        fault: _Fault | None = None
        try:
            try:
                record.params, record.files = await self._read_params(request)
            except web.HTTPRequestEntityTooLarge as error:
                raise APIError(413, DEFAULT_DESCRIPTIONS[413]) from error
            finally:
                self._notify()
            if token != self.token:
                raise APIError(401, "Unauthorized")
            custom = self._custom.get(method.lower(), self._custom.get(raw_method.lower()))
            if known is None and custom is None:
                raise APIError(404, "Not Found")
            await self._apply_delay(method)
            fault = self._take_fault(method)
            if fault is not None and fault.kind == "drop":
                return self._drop(request, record)
            if fault is not None and fault.kind == "html":
                return self._html(record, fault.status)
            if fault is not None and fault.kind == "error":
                raise APIError(fault.status, fault.description, fault.retry_after)
            if custom is not None:
                result = custom(record.params, record.files) if callable(custom) else custom
                if asyncio.iscoroutine(result):
                    result = await result
            else:
                assert known is not None
                result = await known[1](record.params, record.files)
            status, body = 200, {"ok": True, "result": result}
        except APIError as error:
            status, body = error.status, error.to_json()
        if fault is not None and fault.after_handling:
            return self._spoil(request, record, fault, status, body)
        self._answer(record, status, body)
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """Serve ``/file/bot{token}/{file_path}`` (recorded as "downloadFile")."""
        token = request.match_info["token"]
        file_path = request.match_info["file_path"]
        record = Recorded(
            method="downloadFile",
            params={"file_path": file_path},
            files={},
            time=time.time(),
            token=token,
        )
        self.requests.append(record)
        self._notify()
        try:
            if token != self.token:
                raise APIError(401, "Unauthorized")
            await self._apply_delay(record.method)
            fault = self._take_fault(record.method)
            if fault is not None and fault.kind in ("drop", "drop_after"):
                return self._drop(request, record)
            if fault is not None and fault.kind == "html":
                return self._html(record, fault.status)
            if fault is not None and fault.kind == "error":
                raise APIError(fault.status, fault.description, fault.retry_after)
            stored = self._files_by_path.get(file_path)
            if stored is None:
                raise APIError(404, "Not Found")
        except APIError as error:
            self._answer(record, error.status, error.to_json())
            return web.json_response(error.to_json(), status=error.status)
        content_type = stored.mime_type or "application/octet-stream"
        record.fault = fault.kind if fault is not None else None
        self._answer(record, 200, {"ok": True, "result": {"size": len(stored.data)}})
        if fault is not None and fault.kind == "empty":
            return web.Response(body=b"", content_type=content_type)
        if fault is not None and fault.kind == "truncated":
            keep = len(stored.data) // 2 if fault.keep is None else fault.keep
            response = web.StreamResponse(headers={"Content-Type": content_type})
            response.content_length = len(stored.data)
            await response.prepare(request)
            await response.write(stored.data[:keep])
            if request.transport is not None:
                request.transport.close()  # what was written still leaves
            return response
        return web.Response(body=stored.data, content_type=content_type)

    def _answer(self, record: Recorded, status: int, body: JSON) -> None:
        """Complete a record with its answer and tell listeners and waiters."""
        record.status = status
        record.response = body
        for listener in list(self.listeners):
            listener(record)
        self._notify()

    def _drop(self, request: web.Request, record: Recorded) -> web.StreamResponse:
        """Close the connection instead of answering (a network failure)."""
        record.fault = "dropped"
        self._answer(record, 0, {"ok": False, "description": "connection dropped"})
        if request.transport is not None:
            request.transport.abort()
        return web.Response()

    def _html(self, record: Recorded, status: int) -> web.StreamResponse:
        """Answer with nginx's error page, as its front end does when the Bot API
        behind it is down; the call is not handled."""
        record.fault = "html"
        page = nginx_page(status)
        title = page.split("<title>", 1)[1].split("</title>", 1)[0]
        self._answer(record, status, {"ok": False, "error_code": status, "description": title})
        return web.Response(text=page, status=status, content_type="text/html")

    def _spoil(
        self, request: web.Request, record: Recorded, fault: _Fault, status: int, body: JSON
    ) -> web.StreamResponse:
        """Spoil the answer of a call the server handled (see ``_Fault``)."""
        record.fault = "dropped after handling" if fault.kind == "drop_after" else fault.kind
        self._answer(record, status, body)
        if fault.kind == "drop_after":
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        if fault.kind == "empty":
            return web.Response(body=b"", status=status, content_type="application/json")
        raw = json.dumps(body, ensure_ascii=False).encode()
        keep = len(raw) // 2 if fault.keep is None else fault.keep
        return web.Response(body=raw[:keep], status=status, content_type="application/json")

    def _take_fault(self, method: str) -> _Fault | None:
        """Pop the next queued fault for ``method`` (or for "*"), else the flaky
        method's page when this call is its n-th."""
        for key in (method.lower(), "*"):
            queue = self._faults.get(key)
            if queue:
                return queue.popleft()
        for key in (method.lower(), "*"):
            flaky = self._flaky.get(key)
            if flaky is not None:
                flaky.calls += 1
                if flaky.calls % flaky.every == 0:
                    return _Fault(flaky.status, "", None, "html")
        return None

    async def _apply_delay(self, method: str) -> None:
        """Sleep as configured by ``delay()``, ending early on ``stop()``."""
        key = method.lower() if method.lower() in self._delays else "*"
        entry = self._delays.get(key)
        if entry is None:
            return
        if entry.times is not None:
            entry.times -= 1
            if entry.times <= 0:
                del self._delays[key]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + entry.seconds
        while not self._closing:
            event = self._changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await self._wait_change(event, None if math.isinf(remaining) else remaining)
        raise APIError(502, "Bad Gateway")

    # ------------------------------------------------------------------
    # Chats and messages

    def _remember_chat(self, chat: JSON) -> None:
        """Keep a chat object seen in an update, to echo it in answers."""
        self.chats[int(chat["id"])] = {
            key: chat[key]
            for key in ("id", "type", "title", "username", "first_name", "last_name")
            if key in chat
        }

    def _user_chat(self, user: FakeUser, chat: int | JSON | None) -> JSON:
        """The chat object of a message ``user`` sends."""
        if chat is None:
            return user.private_chat()
        if isinstance(chat, dict):
            return dict(chat)
        if chat == user.id:
            return user.private_chat()
        return self._chat_object(chat)

    def _chat_object(self, chat_id: int) -> JSON:
        """A chat object for ``chat_id``: known one, else private/supergroup."""
        if chat_id in self.chats:
            return dict(self.chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        return self.group_chat(chat_id)

    def _chat_id(self, params: JSON, name: str = "chat_id") -> int:
        """The numeric chat id of a request; 400 if missing or unknown."""
        value = params.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        if isinstance(value, str) and value.startswith("@"):
            for chat in self.chats.values():
                if chat.get("username", "").lower() == value[1:].lower():
                    return int(chat["id"])
        raise bad_request("chat not found")

    def _target_chat(self, params: JSON) -> JSON:
        """The chat a send method writes to; 403 if the user blocked the bot."""
        chat_id = self._chat_id(params)
        if chat_id in self.blocked_chats:
            raise APIError(403, DEFAULT_DESCRIPTIONS[403])
        return self._chat_object(chat_id)

    def _store(self, message: JSON) -> None:
        """Record the current state of a message."""
        self.messages[(int(message["chat"]["id"]), int(message["message_id"]))] = message

    def _stored_message(self, params: JSON, missing: str) -> JSON:
        """The message a method targets by chat_id and message_id."""
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise bad_request(missing)
        return message

    def _render(
        self, text: Any, parse_mode: Any, entities: Any, *, caption: bool = False
    ) -> tuple[str, list[JSON] | None]:
        """Apply parse_mode/entities as the API does; check the length."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        parsed: list[JSON] | None = None
        if isinstance(entities, list):
            parsed = entities
        elif isinstance(parse_mode, str) and parse_mode.lower() == "html" and self.parse_html:
            text, parsed = parse_html(text)
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if utf16_len(text) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return text, parsed or None

    def _check_markup(self, markup: Any) -> JSON | None:
        """Validate reply_markup; return it when it belongs in the Message."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None  # reply keyboards are not echoed in Message objects
        for button in inline_buttons(markup):
            if "text" not in button:
                raise bad_request("can't parse inline keyboard button: Text must be non-empty")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
            actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed "
                    "in the inline keyboard"
                )
        return markup

    def _new_bot_message(self, params: JSON, content: JSON) -> JSON:
        """Create, store and return a message sent by the bot."""
        chat = self._target_chat(params)
        markup = self._check_markup(params.get("reply_markup"))
        message: JSON = {
            "message_id": next(self._message_ids),
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
        }
        thread = params.get("message_thread_id")
        if isinstance(thread, int):
            message["message_thread_id"] = thread
        reply_to = self._reply_target(params, int(chat["id"]))
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(content)
        if markup is not None:
            message["reply_markup"] = markup
        self._store(message)
        return message

    def _reply_target(self, params: JSON, chat_id: int) -> JSON | None:
        """The replied-to message of reply_parameters/reply_to_message_id."""
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply"))
            reply_chat = reply.get("chat_id", chat_id)
        else:
            message_id = params.get("reply_to_message_id")
            allow = bool(params.get("allow_sending_without_reply"))
            reply_chat = chat_id
        if not isinstance(message_id, int):
            return None
        target = self.messages.get((int(reply_chat), message_id))
        if target is None:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        target = copy.deepcopy(target)
        target.pop("reply_to_message", None)
        return target

    def _media_object(
        self, kind: str, reference: Any, files: dict[str, UploadedFile], params: JSON
    ) -> JSON | list[JSON]:
        """Resolve an InputFile reference to the object a Message carries.

        ``reference`` is "attach://name", a known file_id or an URL; the file
        can also be uploaded directly under the parameter's own name.
        """
        if isinstance(reference, str) and reference.startswith("attach://"):
            upload = files.get(reference.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"can't find attached file {reference!r}")
        elif kind in files and reference is None:
            upload = files[kind]
        else:
            upload = None
        if upload is not None:
            if not upload.data:
                raise bad_request("file must be non-empty")
            guessed = mimetypes.guess_type(upload.filename)[0]
            stored_mime = guessed or upload.content_type
            if kind == "photo":
                return self._photo_sizes(upload.data, None, None)
            stored = self.register_file(
                upload.data, kind=kind, file_name=upload.filename, mime_type=stored_mime
            )
        elif isinstance(reference, str) and reference in self.files:
            stored = self.files[reference]
            if kind == "photo":
                return self._photo_sizes(stored.data, None, None)
        elif isinstance(reference, str) and reference.startswith(("http://", "https://")):
            name = reference.rstrip("/").rsplit("/", 1)[-1] or "file"
            stored = self.register_file(
                b"", kind=kind, file_name=name, mime_type=mimetypes.guess_type(name)[0]
            )
            if kind == "photo":
                return self._photo_sizes(b"", None, None)
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        media: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        if kind in ("document", "animation", "video", "audio") and stored.file_name:
            media["file_name"] = stored.file_name
        if stored.mime_type and kind != "photo":
            media["mime_type"] = stored.mime_type
        if kind in ("video", "animation"):
            media["width"] = int(params.get("width") or 640)
            media["height"] = int(params.get("height") or 480)
        if kind in ("video", "animation", "audio", "voice"):
            media["duration"] = int(params.get("duration") or 0)
        if kind == "audio":
            for key in ("title", "performer"):
                if params.get(key):
                    media[key] = params[key]
        return media

    def _caption_content(self, params: JSON) -> JSON:
        """``caption`` and ``caption_entities`` of a media message."""
        if params.get("caption") in (None, ""):
            return {}
        caption, entities = self._render(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        content: JSON = {"caption": caption}
        if entities:
            content["caption_entities"] = entities
        return content

    # ------------------------------------------------------------------
    # Bot API methods

    def _builtin_handlers(self) -> dict[str, Handler]:
        """Canonical method name -> handler."""
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": self._true,
            "close": self._true,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "setMyDescription": self._set_my_description,
            "setMyShortDescription": self._set_my_short_description,
            "getMyDescription": self._get_my_description,
            "getMyShortDescription": self._get_my_short_description,
            "setMyName": self._true,
            "getChat": self._get_chat,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._true,
            "getFile": self._get_file,
            "sendMediaGroup": self._send_media_group,
            "sendLocation": self._send_location,
            "sendChatAction": self._send_chat_action,
        }
        for method, kind in MEDIA_METHODS.items():
            handlers[method] = self._media_sender(kind)
        return handlers

    async def _true(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        """Methods that only answer True."""
        return True

    async def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        """Offset confirmation, then pending updates, long polling if none."""
        if self.webhook_url:
            raise APIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = params.get("limit")
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        timeout = max(float(timeout), 0.0) if isinstance(timeout, int | float) else 0.0
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(kind) for kind in allowed]
        if isinstance(offset, int) and not isinstance(offset, bool):
            if offset < 0:
                kept = self._pending()[offset:]
                if kept:
                    self._confirm(int(kept[0]["update_id"]))
            else:
                self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            pending = self._pending()
            remaining = deadline - loop.time()
            if pending or remaining <= 0 or self._closing:
                return copy.deepcopy(pending[:limit])
            await self._wait_change(event, remaining)

    def _pending(self) -> list[JSON]:
        """Updates not confirmed yet, oldest first."""
        return [u for u in self.updates if u["update_id"] >= self.confirmed_offset]

    def _confirm(self, offset: int) -> None:
        """Forget (confirm) the updates with an update_id below ``offset``."""
        self.confirmed_offset = max(self.confirmed_offset, offset)

    async def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = str(params.get("url") or "")
        secret = params.get("secret_token")
        self.webhook_secret_token = str(secret) if secret else None
        allowed = params.get("allowed_updates")
        self.webhook_allowed_updates = [str(k) for k in allowed] if allowed is not None else None
        if self.webhook_url and self._webhook_poster is None:
            self._webhook_poster = asyncio.create_task(self._post_to_webhook())
        self._notify()
        return True

    async def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = ""
        self.webhook_secret_token = None
        if params.get("drop_pending_updates") is True and self.updates:
            self._confirm(int(self.updates[-1]["update_id"]) + 1)
        return True

    async def _post_to_webhook(self) -> None:
        """While a webhook is set, post the updates not acknowledged yet, oldest first
        and one at a time, as Telegram does: each one again (every
        ``webhook_retry_delay`` s, with the secret token set last) until the bot
        answers 200, which acknowledges it."""
        async with aiohttp.ClientSession() as session:
            while not self._closing:
                event = self._changed
                pending = self._pending() if self.webhook_url else []
                if not pending:
                    await self._wait_change(event, 1.0)
                    continue
                update = pending[0]
                post = WebhookPost(
                    update_id=int(update["update_id"]),
                    url=self.webhook_url,
                    secret_token=self.webhook_secret_token,
                    time=time.time(),
                )
                self.webhook_posts.append(post)
                headers = {}
                if post.secret_token:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = post.secret_token
                try:
                    async with session.post(
                        post.url,
                        json=update,
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                    ) as response:
                        await response.read()
                        post.status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    post.error = f"{type(exc).__name__}: {exc}"
                if post.status == 200:
                    self._confirm(post.update_id + 1)
                    self._notify()
                    continue
                self._notify()
                await asyncio.sleep(self.webhook_retry_delay)

    async def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending()),
        }

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        """(scope, language) key under which bot commands are stored."""
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse BotCommand array")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand array")
            if not BOT_COMMAND_NAME_RE.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        return self.commands.get(self._commands_key(params), [])

    async def _set_my_description(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return self._describe(params, "description", 512)

    async def _set_my_short_description(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return self._describe(params, "short_description", 120)

    def _describe(self, params: JSON, kind: str, limit: int) -> bool:
        text = str(params.get(kind) or "")
        if len(text) > limit:
            raise bad_request(f"{kind.upper()}_INVALID")
        key = (kind, str(params.get("language_code") or ""))
        if text:
            self.descriptions[key] = text
        else:
            self.descriptions.pop(key, None)
        return True

    async def _get_my_description(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        language = str(params.get("language_code") or "")
        return {"description": self.descriptions.get(("description", language), "")}

    async def _get_my_short_description(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        language = str(params.get("language_code") or "")
        return {"short_description": self.descriptions.get(("short_description", language), "")}

    async def _set_chat_menu_button(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._chat_id(params) if "chat_id" in params else None
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise bad_request("can't parse menu button")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat_id = self._chat_id(params) if "chat_id" in params else None
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "commands"}))

    async def _get_chat(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat_object(self._chat_id(params))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        text, entities = self._render(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        if not text.strip():
            raise bad_request("message text is empty")
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._new_bot_message(params, content)

    def _edited(self, old: JSON, new: JSON, params: JSON) -> JSON:
        """Store the edited ``new`` message, or 400 if nothing changed."""
        if old.get("from", {}).get("id") != self.bot_id:
            raise bad_request("message can't be edited")
        markup = self._check_markup(params.get("reply_markup"))
        new.pop("reply_markup", None)
        if markup is not None:
            new["reply_markup"] = markup
        compared = ("text", "entities", "caption", "caption_entities", "reply_markup")
        if all(old.get(key) == new.get(key) for key in compared):
            raise bad_request(NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        self._store(new)
        return new

    async def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:
        text, entities = self._render(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        if not text.strip():
            raise bad_request("message text is empty")
        if "inline_message_id" in params:
            return True
        old = self._stored_message(params, "message to edit not found")
        if "text" not in old:
            raise bad_request("there is no text in the message to edit")
        new = copy.deepcopy(old)
        new["text"] = text
        new.pop("entities", None)
        if entities:
            new["entities"] = entities
        return self._edited(old, new, params)

    async def _edit_message_caption(
        self, params: JSON, files: dict[str, UploadedFile]
    ) -> JSON | bool:
        content = self._caption_content(params)
        if "inline_message_id" in params:
            return True
        old = self._stored_message(params, "message to edit not found")
        if "text" in old:
            raise bad_request("there is no caption in the message to edit")
        new = copy.deepcopy(old)
        new.pop("caption", None)
        new.pop("caption_entities", None)
        new.update(content)
        return self._edited(old, new, params)

    async def _edit_message_reply_markup(
        self, params: JSON, files: dict[str, UploadedFile]
    ) -> JSON | bool:
        if "inline_message_id" in params:
            return True
        old = self._stored_message(params, "message to edit not found")
        return self._edited(old, copy.deepcopy(old), params)

    async def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        message = self._stored_message(params, "message to delete not found")
        del self.messages[(int(message["chat"]["id"]), int(message["message_id"]))]
        self.deleted_messages.append(message)
        return True

    async def _delete_messages(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._chat_id(params)
        message_ids = params.get("message_ids")
        if not isinstance(message_ids, list) or not 1 <= len(message_ids) <= 100:
            raise bad_request("message_ids is empty")
        for message_id in message_ids:
            message = self.messages.pop((chat_id, int(message_id)), None)
            if message is not None:
                self.deleted_messages.append(message)
        return True

    async def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        file_id = params.get("file_id")
        stored = self.files.get(str(file_id)) if file_id else None
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.too_big:
            raise bad_request("file is too big")
        return stored.to_file()

    def _media_sender(self, kind: str) -> Handler:
        """Handler of sendDocument, sendPhoto... for one media ``kind``."""

        async def send(params: JSON, files: dict[str, UploadedFile]) -> JSON:
            self._target_chat(params)  # chat errors come before file errors
            content: JSON = {kind: self._media_object(kind, params.get(kind), files, params)}
            content.update(self._caption_content(params))
            return self._new_bot_message(params, content)

        return send

    async def _send_media_group(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        self._target_chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the media group: must be 2-10")
        group_id = str(10_000_000_000_000_000 + next(self._media_group_ids))
        contents: list[JSON] = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request("can't parse InputMedia: unsupported media type")
            content: JSON = {
                kind: self._media_object(kind, item.get("media"), files, item),
                "media_group_id": group_id,
            }
            content.update(self._caption_content(item))
            contents.append(content)
        no_markup = {key: value for key, value in params.items() if key != "reply_markup"}
        return [self._new_bot_message(no_markup, content) for content in contents]

    async def _send_location(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        latitude, longitude = params.get("latitude"), params.get("longitude")
        if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
            raise bad_request("wrong latitude/longitude specified")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong latitude/longitude specified")
        location: JSON = {"latitude": latitude, "longitude": longitude}
        for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
            if params.get(key) is not None:
                location[key] = params[key]
        return self._new_bot_message(params, {"location": location})

    async def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._target_chat(params)
        if not params.get("action"):
            raise bad_request("action is empty")
        return True

    # ------------------------------------------------------------------
    # Random faults

    async def _serve_method(self, request: web.Request) -> web.StreamResponse:
        """A method call, unless ``random_faults`` spoils it."""
        return await self._serve(request, request.match_info["method"], self._handle_method)

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        """A file download, unless ``random_faults`` spoils it."""
        return await self._serve(request, "downloadFile", self._handle_file)

    async def _serve(
        self,
        request: web.Request,
        raw_method: str,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Hand the call to ``handler``, or spoil it as ``random_faults`` picks."""
        faults = self.random_faults
        known = self._handlers.get(raw_method.lower())
        method = known[0] if known else raw_method
        kind = faults.pick(method) if faults is not None else None
        if faults is None or kind is None:
            return await handler(request)
        if kind == "dropped after handling":
            # The handler appends its record before its first await: this is its index.
            index = len(self.requests)
            await handler(request)
            faults.spoil(self.requests[index], kind)
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        record = Recorded(
            method=method, params={}, files={}, time=time.time(), token=request.match_info["token"]
        )
        self.requests.append(record)
        faults.spoil(record, kind)
        if method == "downloadFile":
            record.params = {"file_path": request.match_info["file_path"]}
        else:
            with contextlib.suppress(APIError, web.HTTPException):
                record.params, record.files = await self._read_params(request)
        if kind == "dropped":
            return self._drop(request, record)
        if kind == "429":
            wait = faults.retry_after()
            error = APIError(429, f"Too Many Requests: retry after {wait}", wait)
            self._answer(record, 429, error.to_json())
            return web.json_response(error.to_json(), status=429)
        status = faults.server_status()
        page = nginx_page(status)
        title = f"{status} {NGINX_REASONS[status]}"
        self._answer(record, status, {"ok": False, "error_code": status, "description": title})
        return web.Response(text=page, status=status, content_type="text/html")


@dataclass
class RandomFaults:
    """Spoils about ``rate`` of the calls, picked with a seeded random generator.

    Set it as ``api.random_faults = RandomFaults(rate=0.2, seed=1)`` (None stops
    it). Each spoiled call gets one of ``kinds``, in equal shares:

    * "429": Too Many Requests with ``retry_after`` between 1 and 3 s, not handled;
    * "5xx": an nginx HTML error page (500, 502 or 503), not handled;
    * "dropped": the connection is closed before the call is handled;
    * "dropped after handling": the call is handled (a message is sent, a file
      served), then the connection is closed: the bot never hears of it.

    Downloads are spoiled like methods (as "downloadFile"). ``spoiled`` tells how
    each spoiled request was spoiled; ``counts`` how many of each kind.
    """

    KINDS = ("429", "5xx", "dropped", "dropped after handling")
    #: The statuses of the nginx pages it serves.
    STATUSES = (500, 502, 503)

    rate: float = 0.2
    seed: int = 0
    kinds: tuple[str, ...] = KINDS
    methods: frozenset[str] | None = None
    """Only these methods are spoiled (None: every method and download)."""
    spoiled: dict[int, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(self.KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self._random = random.Random(self.seed)

    def pick(self, method: str) -> str | None:
        """The fault for this call of ``method``, or None to leave it alone."""
        if self.methods is not None and method not in self.methods:
            return None
        if not self.kinds or self._random.random() >= self.rate:
            return None
        return self._random.choice(self.kinds)

    def spoil(self, record: Recorded, kind: str) -> None:
        """Remember how ``record`` was spoiled."""
        self.spoiled[id(record)] = kind
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def kind_of(self, record: Recorded) -> str | None:
        """How ``record`` was spoiled, or None when its answer left whole."""
        return self.spoiled.get(id(record))

    def retry_after(self) -> int:
        return self._random.randint(1, 3)

    def server_status(self) -> int:
        return self._random.choice(self.STATUSES)


# ----------------------------------------------------------------------
# Standalone mode: python -m tests.fakeapi


CONSOLE_HELP = """\
Type a line to send it to the bot as the user ("/start" is a command).
  !press DATA            press the button with callback_data DATA
                         (on the bot's latest message that has it)
  !loc LAT LON           send a location
  !photo PATH [CAPTION]  send a photo file
  !doc PATH [CAPTION]    send a file as a document
  !help                  this help
Ctrl-C stops the server."""


def _print_answer(record: Recorded) -> None:
    """Console listener: show what the bot sends."""
    if record.method in ("getUpdates", "downloadFile") and record.ok:
        return
    if not record.ok:
        print(f"<< {record.summary()}", flush=True)
        return
    results = record.result if isinstance(record.result, list) else [record.result]
    for result in results:
        if not isinstance(result, dict) or "message_id" not in result:
            print(f"<< {record.method} {json.dumps(record.params, ensure_ascii=False)[:200]}")
            continue
        kinds = [k for k in ("photo", "document", "video", "audio", "location") if k in result]
        text = result.get("text") or result.get("caption") or ""
        label = f"[{', '.join(kinds)}] " if kinds else ""
        edited = " (edited)" if "edit_date" in result else ""
        print(f"<< {record.method}{edited} #{result['message_id']}: {label}{text}")
        for button in inline_buttons(result):
            target = button.get("callback_data") or button.get("url") or ""
            print(f"     [{button.get('text')}] -> {target}")
    sys.stdout.flush()


def _console_line(api: FakeBotAPI, user: FakeUser, line: str) -> None:
    """Act on one console line."""
    if not line:
        return
    command, _, rest = line.partition(" ")
    if command == "!help":
        print(CONSOLE_HELP)
    elif command == "!press":
        for message in reversed(api.bot_messages(user.id)):
            if any(b.get("callback_data") == rest for b in inline_buttons(message)):
                api.press_button(user, message, rest)
                return
        print(f"!! no button with callback_data {rest!r}")
    elif command == "!loc":
        lat, _, lon = rest.partition(" ")
        api.send_location(user, float(lat), float(lon))
    elif command in ("!photo", "!doc"):
        path_text, _, caption = rest.partition(" ")
        path = Path(path_text).expanduser()
        data = path.read_bytes()
        if command == "!photo":
            api.send_photo(user, data, caption or None)
        else:
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            api.send_document(user, data, path.name, mime, caption or None)
    else:
        api.send_text(user, line)


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """Thread body: feed console lines to the event loop (None at EOF)."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\n"))
    loop.call_soon_threadsafe(lines.put_nowait, None)


async def _serve(args: argparse.Namespace) -> None:
    """Run the server and the console until cancelled."""
    user = FakeUser(args.user_id, args.user_name, username=args.user_username)
    async with FakeBotAPI(args.token, username=args.username, port=args.port) as api:
        api.listeners.append(_print_answer)
        print(f"Fake Bot API on {api.base_url} (token {api.token})")
        print(f"Bot: TelegramAPIServer.from_base({api.base_url!r})")
        print(f"You are {user.first_name} (id {user.id}). {CONSOLE_HELP}", flush=True)
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=_read_stdin, args=(loop, lines), daemon=True).start()
        while True:
            line = await lines.get()
            if line is None:  # no console: just serve
                await asyncio.Event().wait()
                continue
            try:
                _console_line(api, user, line.strip())
            except (OSError, ValueError, AssertionError) as error:
                print(f"!! {error}", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m tests.fakeapi``."""
    parser = argparse.ArgumentParser(description="Serve a fake Telegram Bot API.")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--username", default="terrain_test_bot", help="bot username")
    parser.add_argument("--user-id", type=int, default=1001, help="console user's id")
    parser.add_argument("--user-name", default="Alice", help="console user's first name")
    parser.add_argument("--user-username", default="alice", help="console user's username")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
