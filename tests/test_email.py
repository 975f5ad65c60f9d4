"""Email, the second channel: through the same outbox, to a real SMTP server on
127.0.0.1 (aiosmtpd in a thread), not a mock."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from importlib.resources import files as package_files
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from bot.config import ConfigError, Settings, load_settings
from bot.mailer import Mailer, SmtpConfig
from bot.sender import MAX_ATTEMPTS
from storage import outbox
from storage.models import DeliveryState
from tests.conftest import OFFICE_CHAT, Harness, deliveries, make_due

PDF = b"%PDF-1.7\n% Terrain test report\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
CLIENT = "mme.martin@boulangerie.test"
SUBJECT = "Rapport d'intervention OT-2026-0042 — Boulangerie Martin, réparation chaudière été"
BODY = "Bonjour Mme Martin,\n\nVoici le rapport validé de notre intervention.\n\nL'équipe Terrain"
PASSWORD = "Sésame-ouvre-toi-42"

CERTS = package_files("aiosmtpd") / "tests" / "certs"


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it accepts; the addresses in
    `answers` get that reply to RCPT TO instead (a refusal, a deferral)."""

    received: list[Received] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data.login.decode() if session.authenticated else None
        self.received.append(
            Received(envelope.mail_from or "", list(envelope.rcpt_tos), parsed, login)
        )
        return "250 Message accepted for delivery"


def accept_only(user: str, password: str) -> Callable[..., AuthResult]:
    def authenticator(
        server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=data)

    return authenticator


def server_tls() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(CERTS / "server.crt"), str(CERTS / "server.key"))
    return context


def client_tls() -> ssl.SSLContext:
    """Trusts the test server's self-signed certificate (issued to "aes", not 127.0.0.1)."""
    context = ssl.create_default_context(cafile=str(CERTS / "server.crt"))
    context.check_hostname = False
    return context


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int


@pytest.fixture
def smtp_factory() -> Iterator[Callable[..., SmtpServer]]:
    """Starts local SMTP servers (aiosmtpd Controller keyword arguments passed on)."""
    started: list[Controller] = []

    def start(port: int | None = None, **kwargs: Any) -> SmtpServer:
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **kwargs)
        controller.start()
        started.append(controller)
        return SmtpServer(inbox, controller.port)

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def smtp_server(smtp_factory: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_factory()


def use_mailer(
    harness: Harness, port: int, *, ssl_context: ssl.SSLContext | None = None, **config: Any
) -> None:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "Terrain <rapports@terrain.test>",
        "security": "none",
        "timeout": 5.0,
    }
    values.update(config)
    harness.sender.mailer = Mailer(SmtpConfig(**values), ssl_context=ssl_context)


async def queue_report(harness: Harness, to: str = CLIENT, *, subject: str = SUBJECT) -> None:
    stored = harness.files.save("reports", PDF, ".pdf")
    async with harness.db.transaction() as session:
        outbox.email(
            session, to, subject, BODY, file_path=stored.path, file_name="OT-2026-0042.pdf"
        )


async def test_the_validated_report_reaches_the_client_mailbox_with_its_pdf(
    harness: Harness, smtp_server: SmtpServer
) -> None:
    use_mailer(harness, smtp_server.port)
    await queue_report(harness)
    calls = await harness.deliver()
    assert calls == [], "an email makes no Telegram call"
    (mail,) = smtp_server.inbox.received
    assert mail.mail_from == "rapports@terrain.test" and mail.rcpt_tos == [CLIENT]
    message = mail.message
    assert message["From"] == "Terrain <rapports@terrain.test>"
    assert message["To"] == CLIENT
    assert message["Subject"] == SUBJECT
    assert message["Message-ID"].endswith("@terrain.test>")
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and text.get_content().replace("\r\n", "\n").rstrip() == BODY
    assert html is not None and "L&#x27;équipe Terrain" in html.get_content()
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "OT-2026-0042.pdf"
    assert attachment.get_content() == PDF
    (row,) = await deliveries(harness)
    assert row.channel == "email" and row.email == CLIENT
    assert row.state == DeliveryState.SENT and row.attempts == 1
    assert await harness.deliver() == [] and len(smtp_server.inbox.received) == 1


async def test_an_email_without_a_file_is_text_only(
    harness: Harness, smtp_server: SmtpServer
) -> None:
    use_mailer(harness, smtp_server.port)
    async with harness.db.transaction() as session:
        outbox.email(session, CLIENT, "Votre demande de visite", "Nous vous rappelons.")
    await harness.deliver()
    (mail,) = smtp_server.inbox.received
    assert mail.message["Subject"] == "Votre demande de visite"
    assert list(mail.message.iter_attachments()) == []


async def test_a_refused_address_fails_and_the_office_is_told_by_telegram(
    harness: Harness, smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.answers["inconnu@boulangerie.test"] = "550 No such user"
    use_mailer(harness, smtp_server.port)
    await queue_report(harness, "inconnu@boulangerie.test")
    calls = await harness.deliver()
    assert [c.chat_id for c in calls] == [OFFICE_CHAT]
    assert "le serveur de messagerie a refusé l'adresse" in calls[0].text
    assert "inconnu@boulangerie.test" in calls[0].text
    failed, notice = await deliveries(harness)
    assert failed.state == DeliveryState.FAILED
    assert "550 No such user" in (failed.last_error or "")
    assert notice.state == DeliveryState.SENT
    assert smtp_server.inbox.received == []


async def test_a_deferred_address_is_tried_again_later(
    harness: Harness, smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.answers[CLIENT] = "451 Greylisted, try again later"
    use_mailer(harness, smtp_server.port)
    await queue_report(harness)
    assert await harness.deliver() == []
    (row,) = await deliveries(harness)
    assert row.state == DeliveryState.PENDING and row.attempts == 1
    assert "451" in (row.last_error or "")
    del smtp_server.inbox.answers[CLIENT]
    await make_due(harness, resume_email=True)
    await harness.deliver()
    (row,) = await deliveries(harness)
    assert row.state == DeliveryState.SENT and len(smtp_server.inbox.received) == 1


async def test_a_mail_server_that_is_down_is_tried_again_later_not_failed(
    harness: Harness, smtp_factory: Callable[..., SmtpServer]
) -> None:
    port = free_port()  # nothing listens there yet
    use_mailer(harness, port)
    await queue_report(harness)
    await queue_report(harness, "second@client.test")
    async with harness.db.transaction() as session:
        outbox.message(session, 20, "Votre rapport est validé")
    calls = await harness.deliver()
    assert [c.text for c in calls] == ["Votre rapport est validé"], "Telegram is not held back"
    first, second, message = await deliveries(harness)
    assert first.state == DeliveryState.PENDING and first.attempts == 1
    assert "cannot reach the mail server" in (first.last_error or "")
    assert first.next_attempt_at > dt.datetime.now(dt.UTC)
    assert second.state == DeliveryState.PENDING and second.attempts == 0, (
        "the same server is down: the next email waits without spending an attempt"
    )
    assert message.state == DeliveryState.SENT
    server = smtp_factory(port)
    await make_due(harness, resume_email=True)
    assert await harness.deliver() == []
    assert sorted(m.rcpt_tos[0] for m in server.inbox.received) == [CLIENT, "second@client.test"]
    assert {d.state for d in await deliveries(harness)} == {DeliveryState.SENT}


async def test_a_mail_server_down_for_good_fails_after_the_last_try(harness: Harness) -> None:
    use_mailer(harness, free_port())
    await queue_report(harness)
    for _ in range(MAX_ATTEMPTS - 1):
        assert await harness.deliver() == []
        await make_due(harness, resume_email=True)
    calls = await harness.deliver()
    assert [c.chat_id for c in calls] == [OFFICE_CHAT]
    assert "le serveur de messagerie est resté injoignable" in calls[0].text
    row = (await deliveries(harness))[0]
    assert row.state == DeliveryState.FAILED and row.attempts == MAX_ATTEMPTS


async def test_without_smtp_settings_an_email_fails_and_the_office_is_told(
    harness: Harness,
) -> None:
    assert harness.sender.mailer is None
    await queue_report(harness)
    calls = await harness.deliver()
    assert [c.chat_id for c in calls] == [OFFICE_CHAT]
    assert "l'envoi par e-mail n'est pas configuré" in calls[0].text
    row = (await deliveries(harness))[0]
    assert row.state == DeliveryState.FAILED and row.last_error == "email is not configured"


async def test_a_missing_file_fails_the_email_with_that_reason(
    harness: Harness, smtp_server: SmtpServer
) -> None:
    use_mailer(harness, smtp_server.port)
    async with harness.db.transaction() as session:
        outbox.email(
            session, CLIENT, SUBJECT, BODY, file_path="reports/gone.pdf", file_name="x.pdf"
        )
    calls = await harness.deliver()
    assert "le fichier à envoyer est introuvable" in calls[0].text
    row = (await deliveries(harness))[0]
    assert row.state == DeliveryState.FAILED and "missing" in (row.last_error or "")


@pytest.mark.parametrize("password", [PASSWORD, "plain-ascii-42"])
async def test_login_works_and_the_password_never_reaches_the_logs(
    harness: Harness,
    smtp_factory: Callable[..., SmtpServer],
    caplog: pytest.LogCaptureFixture,
    password: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = smtp_factory(authenticator=accept_only("terrain", password), auth_require_tls=False)
    use_mailer(harness, server.port, user="terrain", password=SecretStr(password))
    await queue_report(harness)
    await harness.deliver()
    (mail,) = server.inbox.received
    assert mail.login == "terrain"
    assert (await deliveries(harness))[0].state == DeliveryState.SENT
    assert "email to mme.martin@boulangerie.test sent" in caplog.text
    assert password not in caplog.text
    assert password not in repr(harness.sender.mailer and harness.sender.mailer.config)


async def test_a_refused_login_fails_and_says_so_without_the_password(
    harness: Harness, smtp_factory: Callable[..., SmtpServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = smtp_factory(
        authenticator=accept_only("terrain", "the-right-one"), auth_require_tls=False
    )
    use_mailer(harness, server.port, user="terrain", password=SecretStr(PASSWORD))
    await queue_report(harness)
    calls = await harness.deliver()
    assert "le serveur de messagerie a refusé l'identifiant" in calls[0].text
    row = (await deliveries(harness))[0]
    assert row.state == DeliveryState.FAILED and "535" in (row.last_error or "")
    assert server.inbox.received == []
    assert PASSWORD not in caplog.text and PASSWORD not in (row.last_error or "")


async def test_starttls_then_login(
    harness: Harness, smtp_factory: Callable[..., SmtpServer]
) -> None:
    server = smtp_factory(
        tls_context=server_tls(),
        require_starttls=True,
        authenticator=accept_only("terrain", PASSWORD),
        auth_required=True,
    )
    use_mailer(
        harness,
        server.port,
        security="starttls",
        user="terrain",
        password=SecretStr(PASSWORD),
        ssl_context=client_tls(),
    )
    await queue_report(harness)
    await harness.deliver()
    (mail,) = server.inbox.received
    assert mail.login == "terrain" and mail.message["Subject"] == SUBJECT


async def test_implicit_tls(harness: Harness, smtp_factory: Callable[..., SmtpServer]) -> None:
    server = smtp_factory(ssl_context=server_tls())
    use_mailer(harness, server.port, security="ssl", ssl_context=client_tls())
    await queue_report(harness)
    await harness.deliver()
    assert len(server.inbox.received) == 1


async def test_an_untrusted_certificate_fails_rather_than_sending_in_the_clear(
    harness: Harness, smtp_factory: Callable[..., SmtpServer]
) -> None:
    server = smtp_factory(tls_context=server_tls(), require_starttls=True)
    use_mailer(harness, server.port, security="starttls")  # the system's trusted roots
    await queue_report(harness)
    calls = await harness.deliver()
    assert [c.chat_id for c in calls] == [OFFICE_CHAT]
    row = (await deliveries(harness))[0]
    assert row.state == DeliveryState.FAILED and "certificate" in (row.last_error or "")
    assert server.inbox.received == []


@pytest.fixture
def smtp_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    return monkeypatch


def test_email_is_off_until_smtp_host_is_set(smtp_env: pytest.MonkeyPatch) -> None:
    settings = load_settings(env_file=None)
    assert not settings.email_enabled and Mailer.from_settings(settings) is None
    assert settings.smtp_port == 587 and settings.smtp_security == "starttls"
    assert settings.smtp_timeout == 30


def test_smtp_settings_make_a_mailer_and_hide_the_password(smtp_env: pytest.MonkeyPatch) -> None:
    smtp_env.setenv("SMTP_HOST", "smtp.example.fr")
    smtp_env.setenv("SMTP_PORT", "465")
    smtp_env.setenv("SMTP_SECURITY", "ssl")
    smtp_env.setenv("SMTP_USER", "rapports@example.fr")
    smtp_env.setenv("SMTP_PASSWORD", PASSWORD)
    smtp_env.setenv("SMTP_FROM", "Terrain <rapports@example.fr>")
    settings = load_settings(env_file=None)
    mailer = Mailer.from_settings(settings)
    assert mailer is not None and settings.email_enabled
    assert mailer.config.port == 465 and mailer.config.security == "ssl"
    assert mailer.config.envelope_sender == "rapports@example.fr"
    assert mailer.config.password.get_secret_value() == PASSWORD
    assert PASSWORD not in repr(settings) and PASSWORD not in repr(mailer.config)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"SMTP_HOST": "smtp.example.fr"},
            "SMTP_FROM is invalid: must be set when SMTP_HOST is set",
        ),
        ({"SMTP_HOST": "smtp.example.fr", "SMTP_FROM": "Terrain"}, "SMTP_FROM is invalid"),
        ({"SMTP_SECURITY": "tls"}, "SMTP_SECURITY is invalid"),
        ({"SMTP_PORT": "0"}, "SMTP_PORT is invalid"),
    ],
)
def test_a_bad_smtp_setting_is_named(
    smtp_env: pytest.MonkeyPatch, values: dict[str, str], message: str
) -> None:
    for name, value in values.items():
        smtp_env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings(env_file=None)
