"""The contacts API: customer creates, imports and merges, each retried like a careful client
would."""

from __future__ import annotations

from typing import Any

from tests.reliability import client
from tests.reliability.context import RunContext

IMPORT_EVERY, IMPORT_ROWS = 5, 8


class CustomerLoad:
    """Creates customers (subscribed, tagged for the run's segment), now and then imports a
    small CSV file of them and merges two.

    A create retried after a lost answer may meet 409 (its first attempt committed): the
    customer is then looked up by email, and counts as accepted once found. An import retried
    after a lost answer or a 5xx is sent whole again: its rows must come back once each."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.count = 0

    async def run(self) -> None:
        while await self.ctx.pause(0.3, 0.9):
            await self.create()
            if self.count % IMPORT_EVERY == 0:
                await self.import_file()
            if self.count % 6 == 0:
                await self.merge()

    async def create(self) -> None:
        self.count += 1
        n = f"{self.ctx.seed}-{self.count}"
        email, user = f"c-{n}@people.chaos.example", f"cu-{n}"
        self.ctx.ledger.customers_attempted.add(email)
        body = {
            "email": email, "first_name": "Chaos", "last_name": f"N{self.count}",
            "tags": [self.ctx.tag], "consent": {"email": "subscribed"},
            "identities": [{"kind": "user_id", "value": user}],
        }  # fmt: skip
        response, attempts = await client.send(
            self.ctx.client, self.ctx.ledger, "customers", "POST",
            f"{self.ctx.url}/api/v1/customers", json=body, headers=self.ctx.admin,
        )  # fmt: skip
        customer_id = None
        if response is not None and response.status_code == 201:
            customer_id = response.json()["id"]
        elif response is not None and response.status_code == 409 and attempts > 1:
            customer_id = await self._find(email)
        if customer_id:
            self.ctx.ledger.customers[email] = customer_id
            self.ctx.ledger.customer_users[email] = user

    async def import_file(self) -> None:
        people = []
        for row in range(IMPORT_ROWS):
            n = f"{self.ctx.seed}-{self.count}-{row}"
            people.append((f"i-{n}@people.chaos.example", f"iu-{n}", f"N{self.count}.{row}"))
        self.ctx.ledger.customers_attempted.update(email for email, _, _ in people)
        lines = ["email,first_name,last_name,tags,consent_email,user_id"]
        lines += [f"{e},Imported,{last},{self.ctx.tag},subscribed,{u}" for e, u, last in people]
        response, _ = await client.send(
            self.ctx.client, self.ctx.ledger, "imports", "POST",
            f"{self.ctx.url}/api/v1/customers/import", content="\n".join(lines).encode(),
            headers=self.ctx.admin | {"Content-Type": "text/csv"},
        )  # fmt: skip
        if response is None or response.status_code != 200:
            return
        refused = {r["row"] for r in response.json()["rejected"]}
        for line, (email, user, _) in enumerate(people, start=2):
            customer_id = None if line in refused else await self._find(email)
            if customer_id:
                self.ctx.ledger.customers[email] = customer_id
                self.ctx.ledger.customer_users[email] = user

    async def _find(self, email: str) -> str | None:
        response, _ = await client.send(
            self.ctx.client, self.ctx.ledger, "customers", "GET",
            f"{self.ctx.url}/api/v1/customers", params={"email": email}, headers=self.ctx.admin,
        )  # fmt: skip
        items: list[dict[str, Any]] = response.json().get("items", []) if response else []
        return items[0]["id"] if items else None

    async def merge(self) -> None:
        ledger = self.ctx.ledger
        survivors = {s for s, _ in ledger.merges}
        candidates = [c for _, c in ledger.live_customers() if c not in survivors]
        if len(candidates) < 4:
            return
        survivor, merged = self.ctx.rng.sample(candidates[:-2], 2)
        response, attempts = await client.send(
            self.ctx.client, ledger, "merges", "POST",
            f"{self.ctx.url}/api/v1/customers/{survivor}/merge",
            json={"merged_id": merged}, headers=self.ctx.admin,
        )  # fmt: skip
        if response is None:
            return
        if response.is_success or (attempts > 1 and await self._resolves(merged, survivor)):
            ledger.merges.append((survivor, merged))

    async def _resolves(self, merged: str, survivor: str) -> bool:
        response, _ = await client.send(
            self.ctx.client, self.ctx.ledger, "customers", "GET",
            f"{self.ctx.url}/api/v1/customers/{merged}", headers=self.ctx.admin,
        )  # fmt: skip
        return response is not None and response.is_success and response.json()["id"] == survivor
