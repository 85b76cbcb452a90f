"""Reads whose tables grow with the business are served by an index: pages of the listings
(a campaign's messages, an agent's tickets, a store's orders, a stage's deals) come in their
order without sorting everything that matches, and erasures, exports and merges find a
customer's rows without reading whole tables. Each case runs the service's own code on its own
schema with sequential scans and sorts turned off (`tests.support.plans`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.campaigns.store import privacy as campaigns_privacy
from services.campaigns.store import stats
from services.contacts.store import privacy as contacts_privacy
from services.contacts.store import privacy_requests
from services.interactions.store import orders, timeline
from services.interactions.store import privacy as interactions_privacy
from services.sales.store import deals, scoring
from services.sales.store import privacy as sales_privacy
from services.support.store import changes, listing
from services.support.store import privacy as support_privacy
from tests.support.db import fresh_schema
from tests.support.plans import without_scans_and_sorts

IDS = [uuid.uuid4(), uuid.uuid4()]  # a customer and one merged into it
ONE = uuid.uuid4()


async def test_campaigns_pages_of_messages_and_a_customers_messages(infra):
    async with fresh_schema(infra, "campaigns") as conn:
        db = await without_scans_and_sorts(conn)
        for column in ("campaign_id", "journey_id"):
            db = await without_scans_and_sorts(conn)
            await stats.messages_page(db, column, ONE, None, 50)
            await stats.messages_page(db, column, ONE, uuid.uuid4(), 50)
            assert db.disabled() == []
            page_index = {
                "campaign_id": "messages_campaign_customer",
                "journey_id": "messages_journey_page",
            }
            assert db.indexes_on("messages") == {page_index[column]}
        db = await without_scans_and_sorts(conn)
        await campaigns_privacy.erase(db, str(IDS[0]), IDS, [])
        await campaigns_privacy.section(db, IDS)
        await campaigns_privacy.remember_merge(db, IDS[1], IDS[0])
        assert db.disabled({"merge_moves"}) == []  # messages: a scan (the README says why)


async def test_support_agent_team_tag_and_customer_queues_and_a_customers_mail(infra):
    async with fresh_schema(infra, "support") as conn:
        for query, index in (
            (listing.TicketQuery(assignee="ada"), "tickets_assignee"),
            (listing.TicketQuery(team="billing", after=uuid.uuid4()), "tickets_team"),
            (listing.TicketQuery(customer_id=ONE), "tickets_customer_page"),
            (listing.TicketQuery(requester_email="ada@example.com"), "tickets_requester"),
            (listing.TicketQuery(statuses=["open"]), "tickets_status"),
        ):
            db = await without_scans_and_sorts(conn)
            await listing.search(db, query)
            assert db.disabled() == [] and db.indexes_on("tickets") == {index}, query
        db = await without_scans_and_sorts(conn)
        await conn.execute("SET enable_sort = on")  # found by the index, then sorted
        await listing.search(db, listing.TicketQuery(tag="vip"))
        assert db.indexes_on("tickets") == {"tickets_tags"}
        db = await without_scans_and_sorts(conn)
        await support_privacy.erase(db, str(IDS[0]), IDS, ["ab12"])  # an address's hash
        tables = {"tickets", "ticket_messages", "outgoing_mail", "quarantined_mail", "requesters"}
        tables.add("merge_moves")
        assert db.disabled(tables) == []


async def test_support_ticket_merge_moves_outgoing_mail_by_index(infra):
    async with fresh_schema(infra, "support") as conn:
        tickets = [uuid.uuid4(), uuid.uuid4()]
        for ticket in tickets:
            await conn.execute(
                "INSERT INTO tickets (id, subject, channel) VALUES ($1, 's', 'email')", ticket
            )
        db = await without_scans_and_sorts(conn)
        await changes.merge_tickets(db, tickets[0], tickets[1])
        assert db.disabled({"outgoing_mail", "ticket_messages", "mail_ids"}) == []


async def test_interactions_orders_listing_and_merges(infra):
    async with fresh_schema(infra, "interactions") as conn:
        after = [datetime.now(UTC), uuid.uuid4()]
        for customer, store, cursor, index in (
            (None, None, None, "orders_placed"),
            (None, None, after, "orders_placed"),
            (None, "store-1", None, "orders_store_placed"),
            (None, "store-1", after, "orders_store_placed"),
            (ONE, None, after, "orders_customer"),
        ):
            db = await without_scans_and_sorts(conn)
            await orders.listing(db, customer, store, cursor, 50)
            assert db.disabled() == [] and db.indexes_on("orders") == {index}, (store, cursor)
        db = await without_scans_and_sorts(conn)
        await timeline.fold(db, IDS[1], IDS[0])
        await interactions_privacy.remember_merge(db, IDS[1], IDS[0])
        await interactions_privacy.section(db, IDS)
        await interactions_privacy.erase(db, str(IDS[0]), IDS, [])
        tables = {"merged_customers", "merge_moves", "timeline", "interactions", "orders"}
        assert db.disabled(tables) == []


async def test_sales_stage_pages_and_merges(infra):
    async with fresh_schema(infra, "sales") as conn:
        db = await without_scans_and_sorts(conn)
        await deals.search(db, deals.DealQuery(pipeline_id="p", stage="won"))
        await deals.search(db, deals.DealQuery(pipeline_id="p", stage="won", after=uuid.uuid4()))
        assert db.disabled() == [] and db.indexes_on("deals") == {"deals_pipeline_stage_page"}
        db = await without_scans_and_sorts(conn)
        await sales_privacy.remember_merge(db, IDS[1], IDS[0])
        await scoring.merge(db, IDS[0], IDS[1])
        await sales_privacy.erase(db, str(IDS[0]), IDS, [])
        assert db.disabled({"merged_customers", "merge_moves", "score_history", "deals"}) == []


async def test_contacts_erasure_follows_merges_by_index(infra):
    async with fresh_schema(infra, "contacts") as conn:
        await conn.execute("INSERT INTO customers (id) VALUES ($1)", IDS[0])
        await conn.execute("INSERT INTO customers (id, merged_into) VALUES ($1, $2)", *IDS[::-1])
        db = await without_scans_and_sorts(conn)
        async with conn.transaction():
            assert {r["id"] for r in await contacts_privacy.person(db, IDS[0])} == set(IDS)
        await privacy_requests.audit_trail(db, IDS[1])
        assert db.disabled({"customers", "merges", "privacy_audit"}) == []
