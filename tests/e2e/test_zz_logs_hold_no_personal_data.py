"""After every other e2e test has sent people through every channel (this module runs last in
the session), no log of the stack holds an email address or a phone number at info level."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@(?:example\.com|example\.org|example\.net)")
PHONE = re.compile(r"\+\d{10,14}")


def test_no_addresses_or_phone_numbers_in_the_logs(stack):
    leaks = []
    for log in sorted((stack.home / "logs").glob("*.log")):
        for number, line in enumerate(log.read_text(errors="replace").splitlines(), 1):
            if EMAIL.search(line) or PHONE.search(line):
                leaks.append(f"{log.name}:{number}: {line[:200]}")
    assert not leaks, "\n".join(leaks[:20])
