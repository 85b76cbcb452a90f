"""Pure rules of the tracking API: validation, clock skew, channel, identities."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from services.interactions.tracking_domain import (
    InvalidCall,
    RequestInfo,
    channel_of,
    corrected_time,
    parse_call,
)
from services.interactions.tracking_record import (
    identity_requests,
    recorded_data,
)
from shared.db import dump_json
from shared.events.interactions import InteractionRecorded, VisitorInteractionRecorded

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_skew_is_receivedat_minus_sentat_added_to_the_timestamp():
    stamp, sent = NOW - timedelta(hours=3), NOW + timedelta(minutes=10)  # device 10 min ahead
    assert corrected_time(stamp, sent, NOW) == stamp - timedelta(minutes=10)
    assert corrected_time(stamp, None, NOW) == stamp
    assert corrected_time(None, sent, NOW) == NOW


def test_a_batch_sentat_applies_to_calls_without_their_own():
    info = RequestInfo(NOW, (NOW + timedelta(hours=1)).isoformat(), {"library": {"name": "x"}})
    call = parse_call(
        {
            "type": "track",
            "event": "E",
            "userId": "u",
            "context": {"ip": "1"},
            "timestamp": NOW.isoformat(),
        },
        info,
    )
    assert call.occurred_at == NOW - timedelta(hours=1)
    assert call.context == {"library": {"name": "x"}, "ip": "1"}


def test_a_batch_sentat_that_cannot_be_read_refuses_only_the_calls_that_need_it():
    info = RequestInfo(NOW, "yesterday-ish")
    own = {"type": "page", "userId": "u", "sentAt": NOW.isoformat()}
    assert parse_call(own, info).sent_at == NOW
    for _ in range(2):  # each call that relies on it, not only the first
        with pytest.raises(InvalidCall) as caught:
            parse_call({"type": "page", "userId": "u"}, info)
        assert caught.value.field == "sentAt"


def test_a_call_takes_the_id_made_for_it():
    made = uuid.uuid4()
    assert (
        parse_call({"type": "page", "userId": "u"}, RequestInfo(NOW), call_id=made).interaction_id
        == made
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"type": "track", "userId": "u"}, "event"),
        ({"type": "page"}, "userId"),
        ({"type": "alias", "userId": "u"}, "previousId"),
        ({"type": "group", "userId": "u"}, "groupId"),
        ({"type": "page", "userId": "u", "properties": []}, "properties"),
        ({"type": "page", "userId": {"a": 1}}, "userId"),
        ({"type": "page", "userId": "u", "timestamp": "soon"}, "timestamp"),
        ({"type": "nope", "userId": "u"}, "type"),
    ],
)
def test_invalid_calls_name_the_field(raw, field):
    with pytest.raises(InvalidCall) as caught:
        parse_call(raw, RequestInfo(NOW))
    assert caught.value.field == field


def test_identify_carries_the_email_and_makes_one_identity_request_per_person():
    info = RequestInfo(NOW)
    identify = parse_call(
        {
            "type": "identify",
            "anonymousId": "a",
            "userId": "u",
            "traits": {"email": " Ada@Example.COM "},
        },
        info,
    )
    assert identify.email == "ada@example.com"
    again = parse_call(
        {
            "type": "identify",
            "anonymousId": "a",
            "userId": "u",
            "traits": {"email": "ada@example.com"},
        },
        info,
    )
    anonymous = parse_call({"type": "page", "anonymousId": "b"}, info)
    requests = identity_requests([identify, again, anonymous], {})
    assert len(requests) == 1
    assert requests[0].email == "ada@example.com"
    assert {(i.kind, i.value) for i in requests[0].identities} == {
        ("anonymous_id", "a"),
        ("user_id", "u"),
    }


def test_channel_is_mobile_for_screens_and_mobile_devices():
    assert channel_of("screen", {}) == "mobile"
    assert channel_of("track", {"os": {"name": "iOS"}}) == "mobile"
    assert channel_of("page", {"library": {"name": "analytics.js"}}) == "web"
    assert channel_of("track", {"device": {"type": "Android"}}) == "mobile"
    assert channel_of("track", {"os": {"name": "Linux"}, "device": "phone"}) == "web"
    assert channel_of("screen", {"os": {"name": "Linux"}}) == "mobile"


def test_ids_up_to_255_characters_and_empty_ones_missing():
    call = parse_call({"type": "page", "userId": "u" * 255, "anonymousId": ""}, RequestInfo(NOW))
    assert call.user_id == "u" * 255 and call.anonymous_id is None
    with pytest.raises(InvalidCall) as caught:
        parse_call({"type": "page", "userId": "u" * 256}, RequestInfo(NOW))
    assert caught.value.field == "userId"


def test_the_email_of_a_call_comes_from_its_traits_or_its_context_traits():
    def email(raw: dict) -> str | None:
        return parse_call(
            {"type": "track", "event": "E", "userId": "u", **raw}, RequestInfo(NOW)
        ).email

    assert email({"context": {"traits": {"email": "Ada@X.io"}}}) == "ada@x.io"
    assert (
        email({"traits": {"email": "b@y.io"}, "context": {"traits": {"email": "a@x.io"}}})
        == "b@y.io"
    )
    assert email({"traits": {"name": "no address"}}) is None
    assert email({"context": {"traits": "not an object"}}) is None


def test_a_missing_message_id_is_made_up_and_numbers_become_strings():
    call = parse_call({"type": "track", "event": "E", "userId": 7}, RequestInfo(NOW))
    assert call.user_id == "7" and call.message_id.startswith("ecrm-")


@pytest.mark.parametrize(
    ("raw", "customer"),
    [
        ({"type": "page", "anonymousId": "a1", "properties": {"path": "/p"}}, None),
        ({"type": "identify", "userId": "u1", "traits": {"email": "A@x.io", "n": 2**70}}, "c"),
        ({"type": "track", "userId": "u2", "event": "Bought", "properties": {"x": [1]}}, "c"),
        ({"type": "alias", "userId": "u3", "previousId": "a3"}, None),
    ],
)
def test_the_hot_path_data_is_exactly_what_the_event_model_publishes(raw, customer):
    customer_id = uuid.uuid4() if customer else None
    call = parse_call(raw, RequestInfo(datetime.now(UTC)))
    data = recorded_data(call, customer_id)
    event_type = InteractionRecorded if customer else VisitorInteractionRecorded
    model = event_type.model_validate(data)
    assert orjson.loads(dump_json(data)) == orjson.loads(
        dump_json(model.model_dump(mode="json"))
    ) | {"occurred_at": call.occurred_at.isoformat()}
    assert set(data) == set(event_type.model_fields)


def test_visitors_touches_have_their_own_topic_and_customers_touches_keep_theirs():
    assert VisitorInteractionRecorded.topic() == "ecrm.interactions.visitor"
    assert InteractionRecorded.topic() == "ecrm.interactions.interaction"
    assert VisitorInteractionRecorded.ce_type() == "ecrm.interactions.VisitorInteractionRecorded.v1"
