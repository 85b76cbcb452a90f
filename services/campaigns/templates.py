"""Mail templates: sandboxed Jinja2 (autoescaped), checked at create time; links rewritten to
signed click redirects and an open pixel added at send time."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_HTML = ImmutableSandboxedEnvironment(autoescape=True)
_TEXT = ImmutableSandboxedEnvironment(autoescape=False)
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
SAMPLE = {
    "customer_id": "00000000-0000-0000-0000-000000000000",
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines",
    "phone": "+15550100",
    "tags": ["vip"],
    "attributes": {},
    "stage": "customer",
    "orders_count": 1,
    "total_spent": 10.0,
    "event": {},
    "unsubscribe_url": "https://example.com/u/x",
    "confirm_url": "https://example.com/u/confirm/x",
}


class TemplateProblem(ValueError):
    pass


def check(source: str, *, is_html: bool) -> None:
    """Refuse templates that do not compile, reach for private attributes, or break the
    sandbox when rendered with sample data."""
    env = _HTML if is_html else _TEXT
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"line {exc.lineno}: {exc.message}") from None
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else _const(node.arg)
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateProblem(f"line {node.lineno}: access to {name!r} is not allowed")
    try:
        env.from_string(source).render(SAMPLE)
    except SecurityError as exc:
        raise TemplateProblem(f"not allowed: {exc}") from None
    except TemplateError:
        pass  # e.g. a field the sample lacks; real data decides at send time


def _const(node: nodes.Node) -> Any:
    return node.value if isinstance(node, nodes.Const) else None


def render(source: str, context: dict[str, Any], *, is_html: bool) -> str:
    return _compiled(source, is_html).render(context)


@lru_cache(maxsize=256)
def _compiled(source: str, is_html: bool) -> Template:
    """Every mail of a campaign renders the same two templates: compiled once (the two compiles
    were ~0.65 ms of a mail's ~1.7 ms to build)."""
    return (_HTML if is_html else _TEXT).from_string(source)


def rewrite_links(body: str, click_url: Callable[[str], str], keep: Callable[[str], bool]) -> str:
    """Every http(s) link becomes a signed click redirect (except those `keep` says not to)."""

    def replace(match: re.Match[str]) -> str:
        target = html_lib.unescape(match.group(3)).strip()
        if not target.lower().startswith(("http://", "https://")) or keep(target):
            return match.group(0)
        quoted = html_lib.escape(click_url(target), quote=True)
        return f"{match.group(1)}{match.group(2)}{quoted}{match.group(2)}"

    return _HREF.sub(replace, body)


def add_pixel(body: str, pixel_url: str) -> str:
    tag = (
        f'<img src="{html_lib.escape(pixel_url, quote=True)}" width="1" height="1" alt=""'
        ' style="display:none">'
    )
    index = body.lower().rfind("</body>")
    return body + tag if index < 0 else body[:index] + tag + body[index:]
