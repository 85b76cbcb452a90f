"""Pure rules of the privacy lifecycle: suppression hashes, which events name an erased person,
capping an export section, the retention setting, what an unmerge gives back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import orjson
import pytest

from services.contacts.store.unmerge import moved_identities
from services.interactions.privacy import raw_retention_days
from shared.cloudevents import Envelope
from shared.privacy import (
    answering_services,
    cap_section,
    email_hash,
    identity_hash,
    is_privacy_topic,
    subject_values,
)


def envelope(data: dict, key: str | None = None, topic: str = "ecrm.contacts.customer") -> Envelope:
    return Envelope(
        id="0b8f3c1e-0000-4000-8000-000000000001", type="ecrm.contacts.CustomerCreated.v1",
        source="/ecrm/contacts", subject=key, time=datetime.now(UTC), key=key, data=data,
        topic=topic, partition=0, offset=0,
    )  # fmt: skip


def test_an_address_hashes_the_same_whatever_its_case_and_spaces():
    expected = hashlib.sha256(b"grace@example.com").hexdigest()
    assert email_hash(" Grace@Example.COM ") == expected
    assert identity_hash("anon-1") == hashlib.sha256(b"anon-1").hexdigest()


def test_an_event_is_recognised_by_its_key_ids_addresses_and_identities():
    found = subject_values(envelope(
        {"customer_id": "c-1", "merged_id": "c-2", "email": "Grace@example.com",
         "identity": {"kind": "user_id", "value": "u-9"},
         "identities": [{"kind": "anonymous_id", "value": "anon-7"}]},
        key="k-1",
    ))  # fmt: skip
    assert {"c-1", "c-2", "k-1"} <= found
    assert email_hash("grace@example.com") in found
    assert {identity_hash("u-9"), identity_hash("anon-7")} <= found
    assert "Grace@example.com" not in found  # values are compared by hash only


def test_privacy_topics_are_never_filtered():
    assert is_privacy_topic("ecrm.support.privacy")
    assert not is_privacy_topic("ecrm.contacts.customer")


def test_a_section_too_big_for_one_message_is_cut_and_says_so():
    section = {"orders": [{"n": i, "pad": "x" * 100} for i in range(2000)], "metrics": {"a": 1}}
    capped = cap_section(section, limit=50_000)
    assert len(orjson.dumps(capped)) <= 50_000
    assert capped["truncated"] == {"orders": 2000}
    assert capped["orders"] == section["orders"][: len(capped["orders"])]
    assert capped["metrics"] == {"a": 1}
    assert cap_section({"a": [1]}, limit=1000) == {"a": [1]}


def test_retention_period_is_read_and_checked():
    assert raw_retention_days({}) == 395
    assert raw_retention_days({"ECRM_INTERACTIONS_RAW_RETENTION_DAYS": "30"}) == 30
    for bad in ("0", "soon", "-3"):
        with pytest.raises(ValueError, match="ECRM_INTERACTIONS_RAW_RETENTION_DAYS"):
            raw_retention_days({"ECRM_INTERACTIONS_RAW_RETENTION_DAYS": bad})


def test_unmerge_gives_back_the_identities_and_the_address():
    moved = {"identities": [{"kind": "anonymous_id", "value": "a-1"}], "email": "b@example.com",
             "fields": [], "survivor_before": {}}  # fmt: skip
    assert moved_identities(moved) == [
        {"kind": "anonymous_id", "value": "a-1"},
        {"kind": "email", "value": "b@example.com"},
    ]
    assert moved_identities({"identities": [], "email": None}) == []


def test_the_answering_services_can_be_configured(monkeypatch):
    monkeypatch.setenv("ECRM_PRIVACY_SERVICES", "support, sales")
    assert answering_services() == ["contacts", "sales", "support"]
    monkeypatch.delenv("ECRM_PRIVACY_SERVICES")
    assert {"contacts", "interactions", "support", "sales"} <= set(answering_services())
