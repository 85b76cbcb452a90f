"""Accounts (companies): domain normalisation, public mail domains, input contracts."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from shared.inputs import PatchInput, StrictInput, omittable

# Free and public mailbox providers: an address there says nothing about the employer.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "live.com",
        "live.co.uk",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "rocketmail.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "zoho.com",
        "tutanota.com",
        "tuta.io",
        "fastmail.com",
        "hey.com",
        "qq.com",
        "163.com",
        "126.com",
        "free.fr",
        "orange.fr",
        "laposte.net",
        "libero.it",
        "t-online.de",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "naver.com",
        "hanmail.net",
        "rediffmail.com",
        "comcast.net",
    }
)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise_domain(value: str) -> str:
    """`https://www.Example.com/about` -> `example.com`; raises ValueError if not a domain."""
    text = value.strip().lower()
    if not text:
        raise ValueError("must not be empty")
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    host = host.rstrip(".").removeprefix("www.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("not a domain name") from None
    labels = host.split(".")
    if len(labels) < 2 or len(host) > 253 or not all(_LABEL.match(p) for p in labels):
        raise ValueError("not a domain name (e.g. example.com)")
    return host


def email_domain(email: str | None) -> str | None:
    """The company domain of an address, or None for public mailboxes and odd addresses."""
    if not email or "@" not in email:
        return None
    try:
        domain = normalise_domain(email.rsplit("@", 1)[1])
    except ValueError:
        return None
    return None if domain in PUBLIC_MAIL_DOMAINS else domain


class _AccountFields(StrictInput):
    domain: str | None = Field(default=None, max_length=300)
    industry: str | None = Field(default=None, max_length=100)
    size: str | None = Field(default=None, max_length=40)
    owner: str | None = Field(default=None, max_length=200)

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        if v is None:
            return None
        domain = normalise_domain(v)
        if domain in PUBLIC_MAIL_DOMAINS:
            raise ValueError(f"{domain} is a public mail domain, not a company's")
        return domain


class AccountIn(_AccountFields):
    name: str = Field(min_length=1, max_length=200)


class AccountPatch(PatchInput, _AccountFields):
    name: str = omittable(min_length=1, max_length=200)
