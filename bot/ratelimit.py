"""Telegram's sending limits, kept for every message the bot sends.

About one message a second in a private chat, with short bursts allowed (a
confirmation and the next question arrive together); twenty a minute in a group;
and a total per second for the whole bot. `delay()` says how long to wait before
the next message to a chat, `record()` counts one sent, and `pause()` holds a chat
back after Telegram answered 429 with `retry_after`, whatever call it answered.
Time is passed in (seconds, monotonic), so the rules are tested without sleeping.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    #: Seconds per message, sustained, in a private chat (0: no limit per chat).
    per_chat_interval: float = 1.0
    #: Messages a private chat may receive at once before the interval applies.
    per_chat_burst: int = 3
    group_per_minute: int = 20
    total_per_second: int = 30
    #: A private chat's unused messages: (how many, when counted).
    _allowance: dict[int, tuple[float, float]] = field(default_factory=dict)
    _group_sends: dict[int, deque[float]] = field(default_factory=dict)
    _all_sends: deque[float] = field(default_factory=deque)
    _paused_until: dict[int, float] = field(default_factory=dict)

    @staticmethod
    def is_group(chat_id: int) -> bool:
        return chat_id < 0

    def _left(self, chat_id: int, now: float) -> float:
        """How many messages the private chat may still receive now."""
        left, at = self._allowance.get(chat_id, (float(self.per_chat_burst), now))
        return min(float(self.per_chat_burst), left + (now - at) / self.per_chat_interval)

    def delay(self, chat_id: int, now: float) -> float:
        """Seconds to wait before a message to `chat_id` may go (0 when it may go now)."""
        ready = self._paused_until.get(chat_id, 0.0)
        if self.is_group(chat_id):
            window = self._group_sends.get(chat_id)
            if window is not None:
                self._trim(window, now - 60.0)
                if len(window) >= self.group_per_minute:
                    ready = max(ready, window[0] + 60.0)
        elif self.per_chat_interval > 0:
            left = self._left(chat_id, now)
            if left < 1.0:
                ready = max(ready, now + (1.0 - left) * self.per_chat_interval)
        self._trim(self._all_sends, now - 1.0)
        if len(self._all_sends) >= self.total_per_second:
            ready = max(ready, self._all_sends[0] + 1.0)
        return max(0.0, ready - now)

    def record(self, chat_id: int, now: float) -> None:
        """Count a message sent to `chat_id` at `now`."""
        self._all_sends.append(now)
        if self.is_group(chat_id):
            self._group_sends.setdefault(chat_id, deque()).append(now)
        elif self.per_chat_interval > 0:
            self._allowance[chat_id] = (self._left(chat_id, now) - 1.0, now)

    def pause(self, chat_id: int, until: float) -> None:
        """Send nothing to `chat_id` before `until` (Telegram said retry_after)."""
        self._paused_until[chat_id] = max(until, self._paused_until.get(chat_id, 0.0))

    def paused(self, chat_id: int, now: float) -> bool:
        return self._paused_until.get(chat_id, 0.0) > now

    @staticmethod
    def _trim(window: deque[float], older_than: float) -> None:
        while window and window[0] <= older_than:
            window.popleft()
