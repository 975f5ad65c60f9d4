"""Email, the second channel: one message with the report attached, sent over SMTP.

The message is built with the standard library's `email` package (a plain-text
body, an HTML alternative of the same words, the file attached under its name)
and sent with `smtplib` in a worker thread, so a slow mail server never blocks
the event loop. Every failure is raised as a `MailError` that says whether
trying again later may help:
- temporary: nothing listening, a time-out, the connection dropped, a 4xx reply;
- permanent: a 5xx reply (the recipient, the sender or the message refused),
  the login refused, a certificate that cannot be trusted, an address that is
  not one. `why` names the text the office reads (`outbox.why_<why>`).
The password is a `SecretStr`: it shows as stars wherever the settings are printed,
and nothing here logs it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import logging
import mimetypes
import smtplib
import ssl
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from bot.config import Settings

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]

#: Text parts in quoted-printable or base64, never raw 8-bit: any server takes them,
#: even one that does not announce 8BITMIME.
SEVEN_BIT = policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send: SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USER..."""

    host: str
    port: int
    sender: str  # the From header: "Terrain <rapports@example.fr>" or a bare address
    security: Security = "starttls"
    user: str = ""
    password: SecretStr = field(default_factory=lambda: SecretStr(""))
    timeout: float = 30.0

    @property
    def envelope_sender(self) -> str:
        """The bare address of `sender`, for MAIL FROM."""
        return parseaddr(self.sender)[1]


@dataclass(frozen=True)
class Mail:
    """One email to send: a body in plain text and at most one file."""

    to: str
    subject: str
    body: str
    attachment: Path | None = None
    file_name: str | None = None
    #: The same id on every try, so a copy sent twice (a reply lost to a time-out
    #: after the server took the message) is one message in the recipient's client.
    message_id: str | None = None


class MailError(Exception):
    """Sending failed; `temporary` says whether a later try may succeed."""

    temporary: bool = False

    def __init__(self, reason: str, why: str = "email_rejected") -> None:
        super().__init__(reason)
        self.reason = reason
        self.why = why


class TemporaryMailError(MailError):
    """Nothing listening, a time-out, a dropped connection or a 4xx reply: try later."""

    temporary = True

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "email_unreachable")


class PermanentMailError(MailError):
    """A refusal that trying again will not change."""


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """The MIME message: text, its HTML alternative and the attached file.

    Raises PermanentMailError when the address cannot be written in a header
    (no "@", line breaks) and FileNotFoundError when the file is gone."""
    to = mail.to.strip()
    if not _looks_like_address(to):
        raise PermanentMailError(f"not an email address: {to!r}", "email_refused")
    message = EmailMessage(policy=SEVEN_BIT)
    try:
        message["From"] = sender
        message["To"] = to
        message["Subject"] = " ".join(mail.subject.split())
    except (ValueError, IndexError) as exc:  # the header parser's own refusals
        raise PermanentMailError(f"cannot write the headers: {exc}", "email_refused") from exc
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = mail.message_id or make_msgid(domain=_domain(sender))
    message.set_content(mail.body)
    message.add_alternative(_as_html(mail.body), subtype="html")
    if mail.attachment is not None:
        data = mail.attachment.read_bytes()
        name = mail.file_name or mail.attachment.name
        kind, _ = mimetypes.guess_type(name)
        maintype, subtype = (kind or "application/octet-stream").split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


class Mailer:
    """Sends `Mail` through one SMTP server; one connection per message."""

    def __init__(self, config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        # The system's trusted certificates unless told otherwise (tests bring their own).
        self.ssl_context = ssl_context or ssl.create_default_context()

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer | None:
        """The mailer SMTP_* describe, or None when SMTP_HOST is empty (email off)."""
        if not settings.smtp_host:
            return None
        return cls(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                security=settings.smtp_security,
                user=settings.smtp_user,
                password=settings.smtp_password,
                timeout=settings.smtp_timeout,
            )
        )

    async def send(self, mail: Mail) -> None:
        """Send `mail` (off the event loop); raises MailError or FileNotFoundError."""
        await asyncio.to_thread(self._send, mail)

    def _send(self, mail: Mail) -> None:
        message = build_message(mail, self.config.sender)
        to = mail.to.strip()
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise classify(exc, to) from None
        try:
            if self.config.user:
                _login(smtp, self.config.user, self.config.password.get_secret_value())
            smtp.send_message(message, self.config.envelope_sender, [to])
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise classify(exc, to) from None
        except UnicodeError as exc:  # an address the server cannot take (no SMTPUTF8)
            smtp.close()
            raise PermanentMailError(f"cannot encode the message: {exc}") from None
        # Sent: a failed goodbye must not make it look unsent (and sent twice).
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        smtp.close()
        log.info("email to %s sent through %s", to, self.config.host)

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        if config.security == "ssl":
            return smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=self.ssl_context
            )
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        if config.security == "starttls":
            try:
                smtp.starttls(context=self.ssl_context)
            except BaseException:
                smtp.close()
                raise
        return smtp


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """Log in; smtplib's own login encodes credentials as ASCII only, so a user or
    password with accents goes as AUTH PLAIN in UTF-8 (RFC 4616)."""
    if (user + password).isascii():
        smtp.login(user, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPException("a login with accents needs AUTH PLAIN, which is not offered")
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, reply)


def classify(exc: smtplib.SMTPException | OSError, to: str) -> MailError:
    """Which kind of failure `exc` is, with a reason for the record (never a password)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (550, b""))
        if _is_temporary(code):
            return TemporaryMailError(f"the mail server deferred {to}: {_reply(code, text)}")
        return PermanentMailError(
            f"the mail server refused {to}: {_reply(code, text)}", "email_refused"
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TemporaryMailError(f"the mail server closed the connection ({exc})")
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        if _is_temporary(exc.smtp_code):
            return TemporaryMailError(f"the mail server asked to try later: {reply}")
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return PermanentMailError(f"the mail server refused the login: {reply}", "email_login")
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return PermanentMailError(f"the mail server refused the sender: {reply}")
        if isinstance(exc, smtplib.SMTPDataError):
            return PermanentMailError(f"the mail server refused the message: {reply}")
        return PermanentMailError(f"the mail server refused: {reply}")
    if isinstance(exc, smtplib.SMTPException):
        # STARTTLS or AUTH not offered, no common login method: the settings do not
        # match the server, and will not match it later either.
        return PermanentMailError(f"the mail server cannot do what the settings ask: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentMailError(f"the mail server's certificate is not trusted: {exc}")
    if type(exc) is ssl.SSLError:
        # A handshake that cannot succeed (SMTP_SECURITY=ssl on a plain port, no
        # common protocol); a connection cut short (SSLEOFError...) is temporary.
        return PermanentMailError(f"the TLS handshake failed: {exc}")
    if isinstance(exc, TimeoutError):
        return TemporaryMailError("the mail server did not answer in time")
    return TemporaryMailError(f"cannot reach the mail server: {type(exc).__name__}: {exc}")


def _is_temporary(code: int) -> bool:
    return 400 <= code < 500


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def _looks_like_address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and domain) and not any(c.isspace() or c in "<>,;" for c in value)


def _domain(sender: str) -> str | None:
    address = parseaddr(sender)[1]
    try:
        return Address(addr_spec=address).domain or None
    except (ValueError, IndexError):
        return None


def _as_html(text: str) -> str:
    """The plain text as simple HTML: paragraphs at blank lines, line breaks kept."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.strip().split("\n")) + "</p>"
        for p in paragraphs
    )
    return (
        f'<!DOCTYPE html>\n<html><body style="font-family: sans-serif">\n{body}\n</body></html>\n'
    )
