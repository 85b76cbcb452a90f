"""`ecrm demo`: realistic traffic for every channel, through the public interfaces only.

A plan of personas is drawn from the seed (same seed, same traffic); each persona is a short
script (sign up, browse, identify, track, order, write to support, buy through sales) started at
a steady pace over the run, so dashboards fill gradually instead of all at once. Everything goes
through the gateway (bearer token, tracking write key) and the inbound SMTP port.
"""

from __future__ import annotations

import asyncio
import random
import re
import smtplib
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import unescape as html_unescape
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.settings import Settings

SUPPORT_ADDRESS = "support@ecrm.localhost"
DEMO_TAG = "demo"
SCORING_RULES = (
    {"page": "/pricing", "points": 15},
    {"event": "Trial Started", "points": 40},
    {"order": "placed", "points": 25},
    {"email": "clicked", "points": 10},
)
Step = Callable[["Run", "PersonaState"], Awaitable[None]]


class DemoError(RuntimeError):
    """The demo cannot run at all (no stack, no token)."""


@dataclass
class Tally:
    """What was created, per channel; and what went wrong."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, channel: str, what: str, n: int = 1) -> None:
        self.counts[(channel, what)] += n

    def fail(self, what: str) -> None:
        self.errors.append(what)


@dataclass
class PersonaState:
    persona: Persona
    customer_id: str | None = None
    ticket_id: str | None = None
    ticket_ref: int | None = None
    deal_id: str | None = None


@dataclass
class Run:
    settings: Settings
    api: httpx.AsyncClient
    public: httpx.AsyncClient
    tracker: Any
    tally: Tally
    gap: float  # seconds between two steps of one persona

    async def call(
        self, channel: str, method: str, path: str, ok: tuple[int, ...] = (200, 201), **kwargs: Any
    ) -> httpx.Response | None:
        """One API call; anything unexpected is recorded (never raised) so the run goes on."""
        try:
            response = await self.api.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.tally.fail(f"{channel}: {method} {path}: {exc!r}")
            return None
        if response.status_code not in ok:
            self.tally.fail(
                f"{channel}: {method} {path} -> {response.status_code} {response.text[:200]}"
            )
            return None
        return response


# --- the plan: who does what, drawn from the seed --------------------------------------------

FIRST_NAMES = (
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
    "Margaret",
    "Linus",
    "Hedy",
    "Dennis",
    "Katherine",
    "John",
    "Sophie",
    "Yuki",
)
LAST_NAMES = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners",
    "Hamilton",
    "Torvalds",
    "Lamarr",
    "Ritchie",
    "Johnson",
    "Backus",
)
CITIES = ("Paris", "Berlin", "Lisbon", "Oslo", "Madrid", "Vienna")
TAGS = ("vip", "newsletter", "wholesale", "early-adopter")
PRODUCTS = (
    ("SKU-TEE", "Organic tee", 24.0),
    ("SKU-HOOD", "Hoodie", 59.0),
    ("SKU-MUG", "Enamel mug", 12.5),
    ("SKU-CAP", "Cap", 19.0),
    ("SKU-BAG", "Tote bag", 15.0),
    ("SKU-SOCK", "Wool socks", 9.9),
)
STORES = ("store-paris", "store-berlin", "store-lisbon")
PAGES = (
    "/",
    "/products",
    "/products/hoodie",
    "/products/mug",
    "/blog/spring-collection",
    "/pricing",
    "/about",
)
AGENTS = ("sam@support.ecrm.localhost", "noor@support.ecrm.localhost")
OWNERS = ("rita@sales.ecrm.localhost", "omar@sales.ecrm.localhost")
ISSUES = (
    (
        "Where is my order?",
        "Hi, I ordered last week and nothing has arrived yet.",
        "Your parcel left our warehouse yesterday; it should arrive within two days.",
    ),
    (
        "Wrong size delivered",
        "I received an M instead of an L. Can I swap it?",
        "Sorry about that! A prepaid return label is on its way.",
    ),
    (
        "Invoice needed",
        "Could you send me an invoice with my company's VAT number?",
        "Here is your invoice; the VAT number is on it.",
    ),
    (
        "Cannot log in",
        "The password reset mail never arrives.",
        "We fixed a mail filter; please try the reset again.",
    ),
)
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126"


@dataclass(frozen=True)
class OrderPlan:
    order_id: str
    store_id: str
    channel: str  # store | online
    lines: tuple[tuple[str, str, int, float], ...]
    tax: float


@dataclass(frozen=True)
class TicketPlan:
    subject: str
    body: str
    answer: str
    follow_up: str
    message_id: str
    agent: str
    replies: bool
    resolved: bool
    rating: int | None


@dataclass(frozen=True)
class DealPlan:
    name: str
    amount: float
    owner: str
    stages: tuple[str, ...]
    lost_reason: str = "chose a cheaper supplier"


@dataclass(frozen=True)
class Persona:
    index: int
    first_name: str
    last_name: str
    email: str
    city: str
    tags: tuple[str, ...]
    subscribed: bool
    signs_up: bool  # through the contacts API; the others appear through the web identify
    anonymous_id: str
    user_id: str
    user_agent: str
    ip: str
    pages: tuple[str, ...]
    tracks: tuple[tuple[str, dict[str, Any]], ...]
    order: OrderPlan | None
    ticket: TicketPlan | None
    deal: DealPlan | None
    pace: float  # this persona's speed, around 1


def _chosen(rng: random.Random, n: int, share: float) -> set[int]:
    """`share` of the indexes (at least one), drawn from the seed."""
    return set(rng.sample(range(n), max(1, round(n * share)))) if n else set()


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _order(rng: random.Random, seed: int, i: int) -> OrderPlan:
    channel = rng.choice(("store", "online"))
    picks = rng.sample(PRODUCTS, rng.randint(1, 3))
    lines = tuple((sku, name, rng.randint(1, 3), price) for sku, name, price in picks)
    net = sum(qty * price for _, _, qty, price in lines)
    return OrderPlan(
        order_id=f"D{seed}-{i:05d}",
        store_id=rng.choice(STORES) if channel == "store" else "web-shop",
        channel=channel,
        lines=lines,
        tax=round(net * 0.2, 2),
    )


def _ticket(rng: random.Random, seed: int, i: int) -> TicketPlan:
    subject, body, answer = rng.choice(ISSUES)
    resolved = rng.random() < 0.7
    return TicketPlan(
        subject=subject,
        body=body,
        answer=answer,
        follow_up=rng.choice(("Thanks, that works!", "Great, thank you.")),
        message_id=f"<demo-{seed}-{i}@customer.example>",
        agent=rng.choice(AGENTS),
        replies=rng.random() < 0.5,
        resolved=resolved,
        rating=rng.randint(3, 5) if resolved and rng.random() < 0.6 else None,
    )


def _deal(rng: random.Random, last_name: str) -> DealPlan:
    outcome = rng.choice((("won",), ("won",), ("lost",), ()))
    return DealPlan(
        name=f"{last_name} & Co. annual supply",
        amount=rng.randint(20, 300) * 100.0,
        owner=rng.choice(OWNERS),
        stages=("proposal", "negotiation", *outcome),
    )


def _tracks(rng: random.Random, pages: tuple[str, ...]) -> tuple[tuple[str, dict], ...]:
    sku, name, price = rng.choice(PRODUCTS)
    tracks: list[tuple[str, dict]] = [
        ("Product Viewed", {"sku": sku, "name": name, "price": price})
    ]
    if rng.random() < 0.5:
        tracks.append(("Product Added", {"sku": sku, "quantity": 1}))
    if "/pricing" in pages:
        tracks.append(("Trial Started", {"plan": rng.choice(("basic", "pro"))}))
    return tuple(tracks)


def plan(customers: int, seed: int) -> list[Persona]:
    """The whole run's personas; the same (customers, seed) always gives the same plan."""
    rng = random.Random(seed)
    web, orders = _chosen(rng, customers, 0.75), _chosen(rng, customers, 0.5)
    tickets, deals = _chosen(rng, customers, 0.2), _chosen(rng, customers, 0.08)
    signups = _chosen(rng, customers, 0.6) | deals | (set(range(customers)) - web)
    personas = []
    for i in range(customers):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        pages = tuple(rng.sample(PAGES, rng.randint(1, 4))) if i in web else ()
        personas.append(
            Persona(
                index=i,
                first_name=first,
                last_name=last,
                email=f"{first}.{last}.{seed}-{i}@example.com".lower(),
                city=rng.choice(CITIES),
                tags=tuple(t for t in TAGS if rng.random() < (0.35 if t == "vip" else 0.2)),
                subscribed=rng.random() < 0.8,
                signs_up=i in signups,
                anonymous_id=_uuid(rng),
                user_id=f"demo-{seed}-{i}",
                user_agent=USER_AGENT,
                ip=f"198.51.100.{rng.randint(1, 254)}",
                pages=pages,
                tracks=_tracks(rng, pages) if pages else (),
                order=_order(rng, seed, i) if i in orders else None,
                ticket=_ticket(rng, seed, i) if i in tickets else None,
                deal=_deal(rng, last) if i in deals else None,
                pace=rng.uniform(0.6, 1.4),
            )
        )
    return personas


# --- the persona scripts ---------------------------------------------------------------------


async def sign_up(run: Run, state: PersonaState) -> None:
    p = state.persona
    body = {
        "email": p.email,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "tags": [DEMO_TAG, *p.tags],
        "attributes": {"city": p.city},
        "consent": {"email": "subscribed" if p.subscribed else "unsubscribed"},
    }
    response = await run.call("contacts", "POST", "/api/v1/customers", ok=(201, 409), json=body)
    if response is None:
        return
    if response.status_code == 201:
        state.customer_id = response.json()["id"]
        run.tally.add("contacts", "customers created")
        return
    found = await run.call("contacts", "GET", "/api/v1/customers", params={"email": p.email})
    items = found.json()["items"] if found is not None else []
    state.customer_id = items[0]["id"] if items else None
    run.tally.add("contacts", "customers already there (same seed)")


def page_step(path: str) -> Step:
    async def view(run: Run, state: PersonaState) -> None:
        p = state.persona
        run.tracker.page(
            anonymous_id=p.anonymous_id,
            name=path.strip("/") or "home",
            properties={"path": path, "url": f"https://shop.example.com{path}"},
            context={"userAgent": p.user_agent, "ip": p.ip},
        )
        run.tally.add("web", "page views")

    return view


async def identify(run: Run, state: PersonaState) -> None:
    p = state.persona
    run.tracker.identify(
        user_id=p.user_id,
        anonymous_id=p.anonymous_id,
        traits={"email": p.email, "firstName": p.first_name, "lastName": p.last_name},
    )
    run.tally.add("web", "identifies")


def track_step(event: str, properties: dict[str, Any]) -> Step:
    async def track(run: Run, state: PersonaState) -> None:
        p = state.persona
        run.tracker.track(
            user_id=p.user_id, anonymous_id=p.anonymous_id, event=event, properties=properties
        )
        run.tally.add("web", "track calls")

    return track


async def place_order(run: Run, state: PersonaState) -> None:
    order = state.persona.order
    assert order is not None
    lines = [
        {"sku": sku, "name": name, "quantity": qty, "unit_price": f"{price:.2f}"}
        for sku, name, qty, price in order.lines
    ]
    subtotal = sum((Decimal(str(price)) * qty for _, _, qty, price in order.lines), Decimal(0))
    body = {
        "order_id": order.order_id,
        "store_id": order.store_id,
        "channel": order.channel,
        "email": state.persona.email,
        "currency": "EUR",
        "lines": lines,
        "subtotal": f"{subtotal:.2f}",
        "tax": f"{order.tax:.2f}",
        "total": f"{subtotal + Decimal(str(order.tax)):.2f}",
        "placed_at": datetime.now(UTC).isoformat(),
    }
    response = await run.call(
        order.channel, "POST", "/api/v1/orders", ok=(200, 201, 409), json=body
    )
    if response is not None:
        fresh = response.status_code == 201
        run.tally.add(order.channel, "orders placed" if fresh else "orders already there")


def _mail(
    sender: str, subject: str, body: str, message_id: str, in_reply_to: str | None = None
) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = SUPPORT_ADDRESS
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(datetime.now(UTC))
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    return message


def _deliver(settings: Settings, message: EmailMessage, sender: str) -> None:
    with smtplib.SMTP(settings.inbound_smtp_host, settings.inbound_smtp_port, timeout=30) as smtp:
        smtp.sendmail(sender, [SUPPORT_ADDRESS], message.as_bytes(policy=policy.SMTP))


async def send_mail(run: Run, message: EmailMessage, sender: str) -> bool:
    try:
        await asyncio.to_thread(_deliver, run.settings, message, sender)
    except (OSError, smtplib.SMTPException) as exc:
        run.tally.fail(f"email: inbound SMTP {run.settings.inbound_smtp_port}: {exc!r}")
        return False
    return True


async def open_ticket_by_mail(run: Run, state: PersonaState) -> None:
    p, ticket = state.persona, state.persona.ticket
    assert ticket is not None
    message = _mail(
        f"{p.first_name} {p.last_name} <{p.email}>", ticket.subject, ticket.body, ticket.message_id
    )
    if not await send_mail(run, message, p.email):
        return
    run.tally.add("email", "tickets mailed in")
    found = await run.call(
        "support", "GET", "/api/v1/tickets", params={"requester_email": p.email, "limit": 200}
    )
    for item in found.json()["items"] if found is not None else []:
        if item["subject"] == ticket.subject:
            state.ticket_id, state.ticket_ref = item["id"], item["ref"]


async def agent_reply(run: Run, state: PersonaState) -> None:
    ticket = state.persona.ticket
    if state.ticket_id is None or ticket is None:
        return
    body = {"body": ticket.answer, "author": ticket.agent}
    if await run.call("support", "POST", f"/api/v1/tickets/{state.ticket_id}/messages", json=body):
        run.tally.add("support", "agent replies")


async def customer_reply(run: Run, state: PersonaState) -> None:
    p, ticket = state.persona, state.persona.ticket
    if state.ticket_id is None or ticket is None:
        return
    subject = f"Re: [#{state.ticket_ref}] {ticket.subject}"
    message = _mail(
        p.email,
        subject,
        ticket.follow_up,
        make_msgid(domain="customer.example"),
        in_reply_to=ticket.message_id,
    )
    if await send_mail(run, message, p.email):
        run.tally.add("email", "customer replies")


async def resolve(run: Run, state: PersonaState) -> None:
    ticket = state.persona.ticket
    if state.ticket_id is None or ticket is None:
        return
    response = await run.call(
        "support", "PATCH", f"/api/v1/tickets/{state.ticket_id}", json={"status": "resolved"}
    )
    if response is None:
        return
    run.tally.add("support", "tickets resolved")
    csat_url = response.json().get("csat_url")
    if ticket.rating and csat_url:
        rated = await run.public.post(csat_url, json={"rating": ticket.rating})
        if rated.status_code in (201, 409):  # 409: rated in an earlier run with this seed
            fresh = rated.status_code == 201
            run.tally.add("support", "satisfaction ratings" if fresh else "ratings already there")
        else:
            run.tally.fail(f"support: rating -> {rated.status_code} {rated.text[:200]}")


async def open_deal(run: Run, state: PersonaState) -> None:
    deal = state.persona.deal
    if deal is None or state.customer_id is None:
        return
    body = {
        "name": deal.name,
        "customer_id": state.customer_id,
        "amount": f"{deal.amount:.2f}",
        "currency": "EUR",
        "owner": deal.owner,
    }
    response = await run.call("sales", "POST", "/api/v1/deals", json=body)
    if response is not None:
        state.deal_id = response.json()["id"]
        run.tally.add("sales", "deals opened")


def deal_stage(stage: str) -> Step:
    async def move(run: Run, state: PersonaState) -> None:
        deal = state.persona.deal
        if state.deal_id is None or deal is None:
            return
        body: dict[str, Any] = {"stage": stage}
        if stage == "lost":
            body["lost_reason"] = deal.lost_reason
        if await run.call("sales", "PATCH", f"/api/v1/deals/{state.deal_id}", json=body):
            run.tally.add("sales", f"deals moved to {stage}")

    return move


def script(persona: Persona) -> list[Step]:
    """The persona's steps, in order; each takes one gap of time."""
    steps: list[Step] = [sign_up] if persona.signs_up else []
    if persona.pages:
        steps += [page_step(path) for path in persona.pages]
        steps.append(identify)
        steps += [track_step(name, props) for name, props in persona.tracks]
    if persona.order:
        steps.append(place_order)
    if persona.ticket:
        steps += [open_ticket_by_mail, agent_reply]
        steps += [customer_reply] if persona.ticket.replies else []
        steps += [resolve] if persona.ticket.resolved else []
    if persona.deal:
        steps += [open_deal, *map(deal_stage, persona.deal.stages)]
    return steps


# --- the run ---------------------------------------------------------------------------------


async def run_persona(
    run: Run, persona: Persona, start_at: float, advance: Callable[[], None]
) -> None:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    state = PersonaState(persona)
    for index, step in enumerate(script(persona)):
        if index:
            await asyncio.sleep(run.gap * persona.pace)
        try:
            await step(run, state)
        except Exception as exc:  # one persona's surprise never stops the others
            run.tally.fail(f"{step.__name__} for persona {persona.index}: {exc!r}")
        advance()


# --- setup, campaigns and the mail client -----------------------------------------------------


async def scoring_rules(run: Run) -> None:
    for rule in SCORING_RULES:
        response = await run.call(
            "sales", "POST", "/api/v1/scoring/rules", ok=(201, 409), json=rule
        )
        if response is not None:
            fresh = response.status_code == 201
            run.tally.add("sales", "scoring rules created" if fresh else "scoring rules kept")


async def _until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))


async def campaigns_answer(run: Run) -> bool:
    try:
        probe = await run.api.get("/api/v1/segments", params={"limit": 1})
    except httpx.HTTPError as exc:
        probe_status = repr(exc)
    else:
        if probe.status_code == 200:
            return True
        probe_status = f"HTTP {probe.status_code}"
    run.tally.notes.append(
        f"campaigns skipped: the campaigns service does not answer "
        f"/api/v1/segments ({probe_status})"
    )
    return False


async def create_segment(run: Run, seed: int) -> str | None:
    rule = {"all": [{"tag": "vip"}, {"tag": DEMO_TAG}, {"consent": "email"}]}
    response = await run.call(
        "campaigns",
        "POST",
        "/api/v1/segments",
        json={"name": f"Demo VIPs (seed {seed})", "rule": rule},
    )
    if response is None:
        return None
    run.tally.add("campaigns", "segments created")
    return response.json()["id"]


async def launch_campaign(run: Run, segment_id: str, seed: int) -> str | None:
    body = {
        "name": f"Spring collection (demo seed {seed})",
        "segment_id": segment_id,
        "subject": "{{ first_name }}, the spring collection is here",
        "html": "<p>Hi {{ first_name }},</p><p>Our new collection just landed.</p>"
        '<p><a href="https://shop.example.com/spring">See it first</a></p>',
    }
    created = await run.call("campaigns", "POST", "/api/v1/campaigns", json=body)
    if created is None:
        return None
    campaign_id = created.json()["id"]
    if await run.call("campaigns", "POST", f"/api/v1/campaigns/{campaign_id}/send", ok=(202,)):
        run.tally.add("campaigns", "campaigns sent")
        return campaign_id
    return None


async def wait_for_sending(run: Run, campaign_id: str, deadline: float) -> dict[str, Any]:
    """The campaign's stats once it is launched (its recipients all found) and sent."""
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        campaign = await run.call("campaigns", "GET", f"/api/v1/campaigns/{campaign_id}")
        response = await run.call("campaigns", "GET", f"/api/v1/campaigns/{campaign_id}/stats")
        stats = response.json() if response is not None else {}
        launched = campaign is not None and campaign.json().get("status") == "launched"
        if launched and not stats.get("pending"):
            break
        await asyncio.sleep(0.5)
    return stats


def _campaign_links(settings: Settings, message_ids: set[str]) -> list[tuple[str, list[str]]]:
    """(open pixel, click links) of each of these campaign mails found in the dev mailbox."""
    from ecrm.embedded.smtp_sink import mail_dir, read_messages

    found = []
    for _, message in read_messages(mail_dir(settings)):
        if str(message.get("X-Ecrm-Message", "")) not in message_ids:
            continue
        html = message.get_body(("html",))
        text = html.get_content() if html is not None else ""
        pixels = re.findall(r'src="([^"]+/t/o/[^"]+)"', text)
        clicks = re.findall(r'href="([^"]+/t/c/[^"]+)"', text)
        if pixels:
            found.append((pixels[0], clicks))
    return found


async def read_campaign_mail(run: Run, campaign_id: str, seed: int) -> None:
    """What the recipients' mail clients do: load the pixel (open), sometimes click a link."""
    if run.settings.smtp_url:
        run.tally.notes.append("opens and clicks skipped: mail goes to an external relay")
        return
    listed = await run.call(
        "campaigns", "GET", f"/api/v1/campaigns/{campaign_id}/messages", params={"limit": 1000}
    )
    sent = {m["id"] for m in listed.json()["items"]} if listed is not None else set()
    rng = random.Random(seed ^ 0x5EED)
    for pixel, clicks in await asyncio.to_thread(_campaign_links, run.settings, sent):
        if rng.random() < 0.6:
            await _public_get(run, pixel, "mails opened")
            if clicks and rng.random() < 0.45:
                await _public_get(run, html_unescape(clicks[0]), "links clicked")


async def _public_get(run: Run, url: str, what: str) -> None:
    try:
        response = await run.public.get(html_unescape(url))
    except httpx.HTTPError as exc:
        run.tally.fail(f"campaigns: {what}: {exc!r}")
        return
    if response.status_code in (200, 302):
        run.tally.add("campaigns", what)
    else:
        run.tally.fail(f"campaigns: {what}: {response.status_code} {response.text[:200]}")


async def campaign_phase(
    run: Run, seed: int, started: float, duration: float, advance: Callable[[int], None]
) -> None:
    """A segment early on; a campaign to it late in the run; then its mail is read."""
    await _until(started + 0.1 * duration)
    segment_id = await create_segment(run, seed) if await campaigns_answer(run) else None
    advance(1)
    await _until(started + 0.7 * duration)
    campaign_id = await launch_campaign(run, segment_id, seed) if segment_id else None
    advance(1)
    if campaign_id:
        stats = await wait_for_sending(run, campaign_id, started + 0.9 * duration)
        run.tally.add("campaigns", "recipients", int(stats.get("recipients") or 0))
        await read_campaign_mail(run, campaign_id, seed)
    advance(1)


CAMPAIGN_STEPS = 3


# --- entry point ------------------------------------------------------------------------------


def secrets_of(settings: Settings) -> tuple[str, str]:
    """(admin bearer token, tracking write key) of the running stack."""
    token_file, key_file = settings.home / "admin.token", settings.home / "write.key"
    if not token_file.exists():
        raise DemoError(
            f"no {token_file}: start the stack first (`ecrm up`), with the same ECRM_HOME"
        )
    keys = [k for k in (settings.write_keys or "").split(",") if k]
    write_key = key_file.read_text().strip() if key_file.exists() else (keys or [""])[0]
    if not write_key:
        raise DemoError(f"no tracking write key in {key_file} or ECRM_WRITE_KEYS")
    return token_file.read_text().strip(), write_key


def segment_client(base_url: str, write_key: str, tally: Tally) -> Any:
    """Segment's own Python library, batching in the background like on any site."""
    from segment.analytics.client import Client

    def on_error(error: Exception, items: list[Any]) -> None:
        tally.fail(f"web: {len(items)} tracking calls refused: {error!r}")

    return Client(
        write_key=write_key,
        host=base_url,
        on_error=on_error,
        max_retries=3,
        upload_interval=0.5,
        upload_size=100,
        timeout=15,
    )


async def check_ready(api: httpx.AsyncClient, wait: float = 30.0) -> None:
    """Wait (a little) for every service to be healthy: a part may be restarting."""
    deadline = time.monotonic() + wait
    while True:
        try:
            health = await api.get("/healthz")
        except httpx.HTTPError as exc:
            raise DemoError(
                f"the gateway at {api.base_url} does not answer ({exc!r}): is `ecrm up` running?"
            ) from None
        if health.status_code == 200:
            return
        if time.monotonic() > deadline:
            raise DemoError(f"the stack at {api.base_url} is not healthy: {health.text[:300]}")
        await asyncio.sleep(1.0)


async def run_demo(
    settings: Settings, customers: int, duration: float, seed: int, console: Console
) -> Tally:
    token, write_key = secrets_of(settings)
    base = settings.public_base_url
    personas = plan(customers, seed)
    tally = Tally()
    async with (
        httpx.AsyncClient(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as api,
        httpx.AsyncClient(timeout=30) as public,
    ):
        await check_ready(api)
        tracker = segment_client(base, write_key, tally)
        longest = max((len(script(p)) for p in personas), default=1)
        gap = 0.25 * duration / longest / 1.4  # the slowest persona ends in time
        run = Run(settings, api, public, tracker, tally, gap=gap)
        await _with_progress(run, personas, seed, duration, console)
        await asyncio.to_thread(tracker.flush)
        tracker.join()
    return tally


async def _with_progress(
    run: Run, personas: list[Persona], seed: int, duration: float, console: Console
) -> None:
    total = sum(len(script(p)) for p in personas) + len(SCORING_RULES) + CAMPAIGN_STEPS
    columns = (
        TextColumn("[bold]ecrm demo"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("actions"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("traffic", total=total)

        def advance(n: int = 1) -> None:
            progress.advance(task, n)

        await scoring_rules(run)
        advance(len(SCORING_RULES))
        started = time.monotonic()
        spread = 0.7 * duration / max(1, len(personas))  # a steady pace of arrivals
        await asyncio.gather(
            campaign_phase(run, seed, started, duration, advance),
            *(run_persona(run, p, started + i * spread, advance) for i, p in enumerate(personas)),
        )


CHANNEL_ORDER = ("contacts", "web", "store", "online", "email", "support", "campaigns", "sales")


def summary(tally: Tally, settings: Settings) -> Table:
    table = Table(title="What the demo created", show_lines=False)
    table.add_column("channel", style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    rank = {name: i for i, name in enumerate(CHANNEL_ORDER)}
    for (channel, what), count in sorted(
        tally.counts.items(), key=lambda kv: (rank.get(kv[0][0], 99), kv[0][1])
    ):
        table.add_row(channel, what, str(count))
    table.caption = f"watch it live: {settings.public_base_url}/ops"
    return table


def main(settings: Settings, customers: int, duration: float, seed: int | None) -> int:
    """Run the demo, print the summary; 0 when every call went through, 1 otherwise."""
    console = Console()
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    console.print(
        f"ecrm demo: {customers} customers over {duration:.0f}s against "
        f"{settings.public_base_url} (seed {seed})"
    )
    try:
        tally = asyncio.run(run_demo(settings, customers, duration, seed, console))
    except DemoError as exc:
        console.print(f"[red]ecrm demo: {exc}")
        return 1
    console.print(summary(tally, settings))
    for note in tally.notes:
        console.print(f"[yellow]note:[/] {note}")
    for error in tally.errors[:10]:
        console.print(f"[red]error:[/] {error}")
    if len(tally.errors) > 10:
        console.print(f"[red]... and {len(tally.errors) - 10} more errors")
    return 1 if tally.errors else 0
