"""Turning a message row into a mail: rendered template, tracking, unsubscribe headers."""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate, parseaddr
from typing import Any

from services.campaigns import templates, tokens


class WholeLine(UnstructuredHeader):
    """A header written on one line as it is. List-Unsubscribe's URL (RFC 2369) is longer than
    78 characters; the standard folding turned it into RFC 2047 encoded words, which mail
    clients do not decode there, so they offered no unsubscribe (nor one-click, RFC 8058)."""

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


def _policy() -> Policy:
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", WholeLine)
    return email.policy.default.clone(header_factory=registry)


POLICY = _policy()


@dataclass(frozen=True)
class Links:
    """Builds the signed public URLs of one message."""

    base: str
    key: str
    message_id: str

    def unsubscribe(self) -> str:
        return f"{self.base}/u/{tokens.sign(self.key, 'u', {'m': self.message_id})}"

    def confirm(self) -> str:
        """Double opt-in: confirms the customer's pending email consent (a page, then a POST)."""
        return f"{self.base}/u/confirm/{tokens.sign(self.key, 's', {'m': self.message_id})}"

    def pixel(self) -> str:
        return f"{self.base}/t/o/{tokens.sign(self.key, 'o', {'m': self.message_id})}.gif"

    def click(self, target: str) -> str:
        token = tokens.sign(self.key, "c", {"m": self.message_id, "u": target})
        return f"{self.base}/t/c/{token}"

    def is_own(self, url: str) -> bool:
        return url.startswith(f"{self.base}/u/") or url.startswith(f"{self.base}/t/")


def message_id_header(message_id: str, from_address: str) -> str:
    """Stable per message row: a resend of the same row would carry the same Message-ID."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "ecrm.localhost"
    return f"<{message_id}@{domain}>"


def build(
    *,
    message_id: str,
    to: str,
    from_address: str,
    subject_template: str,
    html_template: str,
    context: dict[str, Any],
    links: Links,
) -> tuple[EmailMessage, str]:
    """The mail and its rendered subject. Raises jinja2 errors on a template that fails."""
    unsubscribe = links.unsubscribe()
    fields = {**context, "unsubscribe_url": unsubscribe, "confirm_url": links.confirm()}
    subject = " ".join(templates.render(subject_template, fields, is_html=False).split())
    body = templates.render(html_template, fields, is_html=True)
    body = templates.rewrite_links(body, links.click, links.is_own)
    body = templates.add_pixel(body, links.pixel())
    mail = EmailMessage(policy=POLICY)
    mail["From"] = from_address
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message_id_header(message_id, from_address)
    mail["List-Unsubscribe"] = f"<{unsubscribe}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["X-Ecrm-Message"] = message_id
    mail.set_content(body, subtype="html")
    return mail, subject
