"""Campaigns' own settings (ECRM_* variables beside the platform's)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class CampaignSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ECRM_", extra="ignore")

    public_url: str | None = None  # base of tracking / unsubscribe links; else the gateway
    campaigns_send_rate: float = 20.0  # mails per second, per service instance
    campaigns_smtp_connections: int = 4  # mails in flight at once, per service instance
    campaigns_max_attempts: int = 5  # transient SMTP failures before a message is `failed`
    campaigns_smtp_timeout: float = 30.0
    campaigns_claim_timeout: float = 120.0  # `sending` longer than this -> `unknown`
    campaigns_launch_chunk: int = 10_000  # segment members materialised a transaction
    campaigns_build_chunk: int = 2_000  # customers a segment's full build evaluates a transaction
    campaigns_sweep_interval: float = 60.0  # time-window segments and scheduled launches
    campaigns_from: str = "eCRM <no-reply@ecrm.localhost>"


@lru_cache
def get_campaign_settings() -> CampaignSettings:
    return CampaignSettings()


def public_base(gateway_port: int) -> str:
    configured = get_campaign_settings().public_url
    return (configured or f"http://127.0.0.1:{gateway_port}").rstrip("/")
