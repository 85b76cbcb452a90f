import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from shared.auth import decode_token, has_scope, issue_token
from shared.cloudevents import Envelope, MalformedEvent, headers_for
from shared.errors import Problem
from shared.events.catalogue import all_topics, by_ce_type
from shared.events.contacts import CustomerCreated
from shared.ids import uuid7, uuid7_floor, uuid7s
from shared.pagination import decode_cursor, encode_cursor, page
from shared.settings import Settings


def test_uuid7_sorts_by_creation():
    ids = []
    for _ in range(5):
        ids.append(uuid7())
        time.sleep(0.002)
    assert ids == sorted(ids)
    assert all(i.version == 7 for i in ids)


def test_uuid7_is_a_plain_uuid():
    made = uuid7()
    parsed = uuid.UUID(str(made))
    assert made == parsed and hash(made) == hash(parsed) and made.bytes == parsed.bytes
    assert made.variant == uuid.RFC_4122 and made.is_safe is uuid.SafeUUID.unknown
    assert abs(int.from_bytes(made.bytes[:6], "big") - time.time_ns() // 1_000_000) < 1_000
    assert len({uuid7() for _ in range(10_000)}) == 10_000


def test_uuid7s_are_uuid7s_of_the_moment_each_plain_and_distinct():
    before = time.time_ns() // 1_000_000
    made = uuid7s(10_000)
    assert len(made) == len(set(made)) == 10_000 and uuid7s(0) == []
    for one in made[:100]:
        parsed = uuid.UUID(str(one))
        assert one == parsed and hash(one) == hash(parsed) and one.bytes == parsed.bytes
        assert one.version == 7 and one.variant == uuid.RFC_4122
        assert before <= int.from_bytes(one.bytes[:6], "big") <= time.time_ns() // 1_000_000
    time.sleep(0.002)
    assert max(made) < uuid7s(1)[0]


def test_cursor_round_trip_and_garbage():
    assert decode_cursor(encode_cursor(["x", 3])) == ["x", 3]
    with pytest.raises(Problem) as err:
        decode_cursor("!!!not-a-cursor")
    assert err.value.status == 422


def test_page_reports_next_cursor_only_when_more():
    assert page([1, 2], 2, lambda x: x)["next_cursor"] is None
    result = page([1, 2, 3], 2, lambda x: x)
    assert result["items"] == [1, 2] and decode_cursor(result["next_cursor"]) == 2


def test_token_scopes_and_tampering():
    token = issue_token("k" * 32, ["contacts:read"])
    claims = decode_token("k" * 32, token)
    assert has_scope(claims["scopes"], "contacts:read")
    assert not has_scope(claims["scopes"], "contacts:write")
    with pytest.raises(Problem) as err:
        decode_token("other" * 8, token)
    assert err.value.status == 401
    expired = issue_token("k" * 32, ["*"], ttl_days=-1)
    with pytest.raises(Problem):
        decode_token("k" * 32, expired)


def test_settings_refuse_default_key_outside_development():
    with pytest.raises(ValueError):
        Settings(env="production")
    assert Settings(env="production", signing_key="s" * 40).signing_key


def test_each_service_gets_its_own_database():
    s = Settings(database_url="postgresql://u:p@db:5432/postgres?sslmode=disable")
    assert s.database_dsn("contacts") == "postgresql://u:p@db:5432/ecrm_contacts?sslmode=disable"
    assert Settings(embedded_pg_port=5555).database_dsn("x").endswith(":5555/ecrm_x")


def test_settings_refuse_a_topic_without_partitions(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ECRM_TOPIC_PARTITIONS", "0")
    with pytest.raises(ValueError, match="topic_partitions"):
        Settings()
    monkeypatch.setenv("ECRM_TOPIC_PARTITIONS", "3")
    assert Settings().topic_partitions == 3


@dataclass
class Record:
    value: bytes
    headers: list
    key: bytes = b"k"
    topic: str = "t"
    partition: int = 0
    offset: int = 0


def test_envelope_reads_binary_mode_cloudevents():
    event = CustomerCreated(customer_id="c1", email="a@example.com")
    eid = uuid.uuid4()
    headers = headers_for(
        eid, event.ce_type(), "/ecrm/contacts", __import__("datetime").datetime.now(), "c1"
    )
    env = Envelope.from_record(Record(orjson.dumps(event.model_dump(mode="json")), headers))
    assert (
        env.id == str(eid)
        and env.name == "CustomerCreated"
        and env.data["email"] == "a@example.com"
    )
    assert dict(headers)["ce_specversion"] == b"1.0"


@pytest.mark.parametrize(
    "value,headers",
    [
        (b"{}", []),
        (b"not json", [("ce_id", str(uuid.uuid4()).encode()), ("ce_type", b"x")]),
        (b"[1]", [("ce_id", str(uuid.uuid4()).encode()), ("ce_type", b"x")]),
        (b"{}", [("ce_id", b"not-a-uuid"), ("ce_type", b"x")]),
    ],
)
def test_unreadable_records_are_malformed(value, headers):
    with pytest.raises(MalformedEvent):
        Envelope.from_record(Record(value, headers))


def test_catalogue_names_topics_and_types():
    assert "ecrm.contacts.customer" in all_topics()
    assert "ecrm.contacts.customer.dlq" in all_topics()
    assert by_ce_type()["ecrm.contacts.CustomerCreated.v1"] is CustomerCreated


def test_uuid7_floor_parts_ids_made_before_a_moment_from_those_made_at_it_or_after():
    before = uuid7()
    time.sleep(0.003)
    moment = datetime.now(UTC)
    time.sleep(0.002)
    after = uuid7()
    assert before < uuid7_floor(moment) < after
    assert uuid7_floor(moment - timedelta(milliseconds=1)) < uuid7_floor(moment)
    assert uuid7_floor(moment).int & ((1 << 80) - 1) == 0  # nothing below the millisecond
