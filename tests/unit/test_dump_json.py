"""JSON written to the database: orjson for everything it can write, including the UUIDs asyncpg
returns (a subclass orjson refuses on its own); the standard library only past 64-bit integers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
from asyncpg.pgproto import pgproto

from shared.db import dump_json


def test_ids_read_from_the_database_are_written_by_orjson():
    plain = uuid.uuid4()
    read = pgproto.UUID(plain.bytes)  # what a row's uuid column comes back as
    row = {"customer_id": read, "at": datetime(2026, 12, 4, 12, 0, tzinfo=UTC), "n": 1}
    text = dump_json([row, row])
    assert text == orjson.dumps([{**row, "customer_id": str(plain)}] * 2).decode()


def test_what_orjson_refuses_is_written_as_before():
    assert orjson.loads(dump_json({"big": 2**70})) == {"big": 2**70}
    assert orjson.loads(dump_json({"price": Decimal("12.50")})) == {"price": "12.50"}
