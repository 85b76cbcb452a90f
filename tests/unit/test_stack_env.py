"""What the embedded stack's children see: a service's own settings from the shell
(`ECRM_CAMPAIGNS_SEND_RATE=100 ecrm up`), and the platform's exactly as the stack resolved them,
whatever the shell has left over."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecrm.embedded.stack import child_env
from shared.settings import Settings


def test_a_services_own_settings_reach_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("ECRM_CAMPAIGNS_SEND_RATE", "100")
    monkeypatch.setenv("ECRM_SUPPORT_MAIL_FROM", "help@shop.example")
    env = child_env(Settings(home=tmp_path), "a-signing-key", "a-write-key")
    assert env["ECRM_CAMPAIGNS_SEND_RATE"] == "100"
    assert env["ECRM_SUPPORT_MAIL_FROM"] == "help@shop.example"


def test_the_platforms_settings_are_the_stacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("ECRM_GATEWAY_PORT", "1111")  # the shell's, not the stack's
    monkeypatch.setenv("ecrm_topic_partitions", "9")
    monkeypatch.setenv("ECRM_KAFKA_BOOTSTRAP", "stale:9092")
    settings = Settings(home=tmp_path, gateway_port=2222, topic_partitions=2)
    env = child_env(settings, "a-signing-key", "a-write-key")
    assert env["ECRM_GATEWAY_PORT"] == "2222"
    assert env["ECRM_TOPIC_PARTITIONS"] == "2"
    assert "ecrm_topic_partitions" not in env
    assert env["ECRM_KAFKA_BOOTSTRAP"] == settings.kafka
    assert env["ECRM_SIGNING_KEY"] == "a-signing-key"
