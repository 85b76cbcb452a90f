"""Inbound mail -> a ticket message, a refusal (SMTP code) or a quarantine reason. Pure."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import errors, policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from services.support.domain import Attachment, normalise_email

_MSG_ID = re.compile(r"<[^<>\s]+>")
_TAG = re.compile(r"<[^>]+>")
_ENCODING_DEFECTS = (
    errors.InvalidBase64CharactersDefect,
    errors.InvalidBase64PaddingDefect,
    errors.InvalidBase64LengthDefect,
    errors.UndecodableBytesDefect,
)


@dataclass(frozen=True)
class ParsedMail:
    sender: str
    subject: str
    message_id: str
    thread_ids: list[str]  # In-Reply-To first, then References newest first
    body: str
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class Refuse:
    code: int
    text: str

    @property
    def reply(self) -> str:
        return f"{self.code} {self.text}"


@dataclass(frozen=True)
class Quarantine:
    reason: str


class _Broken(ValueError):
    pass


def parse(
    raw: bytes, envelope_from: str | None, max_attachment: int
) -> ParsedMail | Refuse | Quarantine:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    sender = _sender(message, envelope_from)
    if sender is None:
        return Refuse(550, "5.1.7 The mail has no valid sender address")
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return Quarantine(f"auto-submitted mail ({auto}) is not answered, to avoid mail loops")
    try:
        body, attachments = _content(message, max_attachment)
    except _Broken as exc:
        return Quarantine(f"broken encoding: {exc}")
    except _TooLarge as exc:
        return Refuse(552, f"5.3.4 {exc}")
    return ParsedMail(
        sender=sender,
        subject=_header(message, "Subject")[:500] or "(no subject)",
        message_id=_first_id(_header(message, "Message-ID")) or _derived_id(raw),
        thread_ids=_thread_ids(message),
        body=body or "(no text)",
        attachments=attachments,
    )


class _TooLarge(ValueError):
    pass


def _header(message: EmailMessage, name: str) -> str:
    try:
        return " ".join(str(message.get(name, "")).split())
    except (ValueError, TypeError, IndexError):
        return ""


def _sender(message: EmailMessage, envelope_from: str | None) -> str | None:
    candidates = [addr for _, addr in getaddresses([_header(message, "From")]) if addr]
    candidates.append(envelope_from or "")
    for candidate in candidates:
        try:
            return normalise_email(candidate)
        except ValueError:
            continue
    return None


def _first_id(value: str) -> str | None:
    found = _MSG_ID.findall(value)
    return found[0] if found else None


def _derived_id(raw: bytes) -> str:
    """A mail without a Message-ID gets one from its bytes: a re-delivery is the same mail."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@inbound.ecrm>"


def _thread_ids(message: EmailMessage) -> list[str]:
    ids = _MSG_ID.findall(_header(message, "In-Reply-To"))
    ids += reversed(_MSG_ID.findall(_header(message, "References")))
    return list(dict.fromkeys(ids))[:50]


def _content(message: EmailMessage, max_attachment: int) -> tuple[str, list[Attachment]]:
    plain: list[str] = []
    rich: list[str] = []
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if any(isinstance(d, _ENCODING_DEFECTS) for d in part.defects):
            raise _Broken(f"{part.get_content_type()} part: {part.defects[0].__class__.__name__}")
        if part.get_content_disposition() == "attachment" or part.get_filename():
            attachments.append(_attachment(part, max_attachment, len(attachments)))
        elif part.get_content_type() == "text/plain":
            plain.append(_text(part))
        elif part.get_content_type() == "text/html":
            rich.append(_strip_html(_text(part)))
        else:
            attachments.append(_attachment(part, max_attachment, len(attachments)))
    return ("\n\n".join(plain) or "\n\n".join(rich)).strip(), attachments


def _text(part: EmailMessage) -> str:
    data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return data.decode(charset)
    except LookupError:
        raise _Broken(f"unknown charset {charset!r}") from None
    except UnicodeDecodeError as exc:
        if charset.lower() in ("us-ascii", "ascii"):
            try:
                return data.decode("utf-8")  # undeclared UTF-8 is common and harmless
            except UnicodeDecodeError:
                pass
        raise _Broken(f"text is not valid {charset} (byte {exc.start})") from None


def _attachment(part: EmailMessage, max_attachment: int, index: int) -> Attachment:
    data = part.get_payload(decode=True) or b""
    name = part.get_filename() or f"attachment-{index + 1}"
    if len(data) > max_attachment:
        raise _TooLarge(f"attachment {name!r} is larger than {max_attachment} bytes")
    return Attachment(filename=name[:255], content_type=part.get_content_type(), data=data)


def _strip_html(text: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", text)
    text = re.sub(r"(?i)<br\s*/?>|</p>", "\n", text)
    return html.unescape(_TAG.sub("", text))
