"""What the bot makes of answers it cannot read, and what it writes about them: never
the token."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logs import HideToken


def test_the_token_is_hidden_in_a_logged_traceback_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "123456:SECRET-token"
    handler = logging.StreamHandler(stream := io.StringIO())
    handler.addFilter(HideToken(token))
    log = logging.getLogger("tests.network.hidden")
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError(
                f"500, message='x', url='https://api.telegram.org/file/bot{token}/a'"
            )
        except RuntimeError:
            log.exception("download of %s failed", f"bot{token}/a")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert "RuntimeError" in written and "Traceback" in written
    assert token not in written
    assert written.count("<BOT_TOKEN>") == 2
