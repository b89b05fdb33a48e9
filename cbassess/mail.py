"""Outgoing e-mail over SMTP, configured by the MAIL_* settings. No Flask here.

Without MAIL_SERVER nothing is sent: the pages then show an invitation link to the admin
who made it, to pass on by other means.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True)
class MailSettings:
    server: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    use_tls: bool = False  # STARTTLS after connecting
    use_ssl: bool = False  # TLS from the first byte (port 465)
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping) -> MailSettings | None:
        """The settings from the app's MAIL_* values, or None when no server is set."""
        server = config.get("MAIL_SERVER") or ""
        if not server:
            return None
        use_ssl = _flag(config.get("MAIL_USE_SSL", False))
        return cls(
            server=server,
            port=int(config.get("MAIL_PORT") or (465 if use_ssl else 25)),
            sender=config.get("MAIL_DEFAULT_SENDER") or f"cbassess@{server}",
            username=config.get("MAIL_USERNAME") or "",
            password=config.get("MAIL_PASSWORD") or "",
            use_tls=_flag(config.get("MAIL_USE_TLS", False)),
            use_ssl=use_ssl,
            timeout=float(config.get("MAIL_TIMEOUT") or 10),
        )


def _flag(value: object) -> bool:
    """A setting given as a bool or as text from the environment ("true", "1", "yes")."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def send(settings: MailSettings, to: str, subject: str, body: str) -> None:
    """Send one plain-text message; raises MailError when the server refuses or is away."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(body)
    try:
        if settings.use_ssl:
            connection = smtplib.SMTP_SSL(settings.server, settings.port,
                                          timeout=settings.timeout,
                                          context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
        with connection:
            if settings.use_tls:
                connection.starttls(context=ssl.create_default_context())
            if settings.username:
                connection.login(settings.username, settings.password)
            connection.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{settings.server}:{settings.port}: {exc}") from exc
