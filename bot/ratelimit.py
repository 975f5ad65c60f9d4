"""Telegram's sending limits, kept by the outbox sender.

About one message a second in a chat, twenty a minute in a group, and the
configured total per second for the whole bot. `delay()` says how long to wait
before the next message to a chat; `record()` counts one sent. Time is passed
in (seconds, monotonic), so the rules are tested without sleeping.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    per_chat_interval: float = 1.0
    group_per_minute: int = 20
    total_per_second: int = 25
    _last: dict[int, float] = field(default_factory=dict)
    _group_sends: dict[int, deque[float]] = field(default_factory=dict)
    _all_sends: deque[float] = field(default_factory=deque)
    _paused_until: dict[int, float] = field(default_factory=dict)

    @staticmethod
    def is_group(chat_id: int) -> bool:
        return chat_id < 0

    def delay(self, chat_id: int, now: float) -> float:
        """Seconds to wait before a message to `chat_id` may go (0 when it may go now)."""
        ready = self._paused_until.get(chat_id, 0.0)
        if chat_id in self._last:
            ready = max(ready, self._last[chat_id] + self.per_chat_interval)
        window = self._group_sends.get(chat_id)
        if window is not None:
            self._trim(window, now - 60.0)
            if len(window) >= self.group_per_minute:
                ready = max(ready, window[0] + 60.0)
        self._trim(self._all_sends, now - 1.0)
        if len(self._all_sends) >= self.total_per_second:
            ready = max(ready, self._all_sends[0] + 1.0)
        return max(0.0, ready - now)

    def record(self, chat_id: int, now: float) -> None:
        """Count a message sent to `chat_id` at `now`."""
        self._last[chat_id] = now
        self._all_sends.append(now)
        if self.is_group(chat_id):
            self._group_sends.setdefault(chat_id, deque()).append(now)

    def pause(self, chat_id: int, until: float) -> None:
        """Send nothing to `chat_id` before `until` (Telegram said retry_after)."""
        self._paused_until[chat_id] = max(until, self._paused_until.get(chat_id, 0.0))

    @staticmethod
    def _trim(window: deque[float], older_than: float) -> None:
        while window and window[0] <= older_than:
            window.popleft()
