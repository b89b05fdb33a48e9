"""A real SMTP server on loopback (aiosmtpd), for the tests of e-mailed links.

It accepts every message and keeps it in an inbox the test reads: the app talks SMTP to it
over TCP exactly as it would to a production relay.
"""

from __future__ import annotations

import email
import re
import threading
import time
from email.message import Message

from aiosmtpd.controller import Controller

from tests.services import free_port

LINK = re.compile(r"https?://\S+/password/set/[A-Za-z0-9_-]+")


class Inbox:
    """aiosmtpd handler: every message received, parsed, in order."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.recipients: list[list[str]] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._arrived:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.recipients.append(list(envelope.rcpt_tos))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 30) -> list[Message]:
        """The first `count` messages, waiting for them to arrive (a reset is sent off the
        request, in a thread)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.messages)} message(s), expected {count}")
                self._arrived.wait(left)
            return list(self.messages[:count])


_TOKENS = re.compile(r'(name="csrf_token" value="|"X-CSRFToken": ")[^"]*"')


def without_tokens(page: str) -> str:
    """A page with its CSRF tokens blanked: they are signed with the time, so two replies
    a second apart differ there even when they say the same."""
    return _TOKENS.sub(r'\1"', page)


def body_of(message: Message) -> str:
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")


def link_in(message: Message) -> str:
    match = LINK.search(body_of(message))
    assert match, f"no password link in: {body_of(message)!r}"
    return match.group(0)


class SmtpServer:
    """Start with `start()`, read `inbox`, stop with `stop()`."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def config(self) -> dict:
        """The app's MAIL_* settings for this server."""
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port,
                "MAIL_DEFAULT_SENDER": "cbassess@example.org"}
