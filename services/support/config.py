"""Support's own knobs (`ECRM_SUPPORT_*`), beside the platform settings every service shares."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class SupportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ECRM_SUPPORT_", extra="ignore")

    mail_from: str = "support@ecrm.localhost"
    mail_from_name: str = "Customer Support"
    max_mail_bytes: int = 10 * 1024 * 1024
    max_attachment_bytes: int = 5 * 1024 * 1024
    sla_tick_seconds: float = 1.0
    sender_tick_seconds: float = 0.5
    sender_max_attempts: int = 12
    smtp_timeout_seconds: float = 15.0

    @property
    def mail_domain(self) -> str:
        return self.mail_from.rpartition("@")[2] or "ecrm.localhost"


@lru_cache
def get_support_settings() -> SupportSettings:
    return SupportSettings()
