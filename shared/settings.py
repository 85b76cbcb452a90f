"""One settings class for every process: all `ECRM_*` variables, all optional."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SIGNING_KEY = "dev-insecure-signing-key-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ECRM_", extra="ignore")

    env: str = "development"
    home: Path = Path("./.ecrm")
    gateway_port: int = 8080
    kafka_bootstrap: str | None = None
    database_url: str | None = None
    smtp_url: str | None = None
    inbound_smtp_port: int = 2525
    inbound_smtp_host: str = "127.0.0.1"
    public_url: str | None = Field(
        default=None, description="how the gateway is reached from outside (links in mails)"
    )

    # Ports of the embedded stack's internal parts (not public).
    service_port_base: int = 8100
    embedded_kafka_port: int = 9092
    embedded_pg_port: int = 5544
    embedded_pg_options: str = Field(
        default="",
        description="more server options for the embedded PostgreSQL, 'name=value;...' "
        "(e.g. shared_preload_libraries=pg_stat_statements)",
    )
    smtp_sink_port: int = 1025
    # Each service has one consumer (elected), so partitions buy no parallelism; every fetch and
    # every relay send costs per partition (8 -> 2: the stack's CPU per tracked event 279 -> 216
    # µs, broker 61 -> 23). 2 -> 1: each relay round is one record batch instead of two, and the
    # embedded broker's fetches list every batch a partition holds, so as its log grows it costs
    # half as much (bench/RESULTS.md, "One partition a topic"). Existing topics keep theirs.
    topic_partitions: int = Field(default=1, ge=1)
    # The embedded broker keeps every event in memory (~300 bytes each) and never gives it back:
    # `ecrm up` warns when it passes this size, then at every doubling.
    broker_memory_warn_mb: int = Field(default=2048, ge=1)

    signing_key: str | None = None
    write_keys: str | None = Field(default=None, description="comma-separated tracking write keys")
    token_ttl_days: int = 365
    outbox_retention_hours: int = 168
    # The least time between two relay rounds that publish: under load each round carries that
    # interval's commits, so the broker gets fewer, larger record batches and every consumer
    # fewer, larger fetches (bench/RESULTS.md, "The relay's rounds spaced"). It adds up to this
    # much to an event's latency under load; 0 publishes at every commit.
    relay_round_interval_ms: int = Field(default=50, ge=0, le=10_000)
    log_level: str = "info"
    rate_public: str = Field(
        default="20/60", description="public routes: requests/s/burst per client"
    )
    rate_tracking: str = Field(
        default="1000/2000", description="tracking API: requests/s/burst per write key"
    )
    # ~5 s of queue at the ~50 batch requests/s one worker completes on the standard machine:
    # bursts at full capacity pass (64 refused 20 requests of a saturated benchmark step), a
    # runaway queue is refused before clients time out (10-15 s in Segment's libraries)
    tracking_max_in_flight: int = Field(
        default=256,
        ge=1,
        description="tracking API requests one worker process works on at once; more: 503",
    )
    workers: str = Field(
        default="interactions=2,contacts=2",
        description="HTTP worker processes per service, e.g. 'interactions=2,contacts=2'",
    )
    db_pool_size: int = 10

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env != "development" and self.signing_key in (None, "", DEFAULT_SIGNING_KEY):
            raise ValueError(
                "ECRM_SIGNING_KEY must be set to a non-default secret outside development"
            )
        return self

    @property
    def kafka(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.embedded_kafka_port}"

    @property
    def server_dsn(self) -> str:
        return (
            self.database_url or f"postgresql://postgres@127.0.0.1:{self.embedded_pg_port}/postgres"
        )

    @property
    def public_base_url(self) -> str:
        return (self.public_url or f"http://127.0.0.1:{self.gateway_port}").rstrip("/")

    @property
    def smtp(self) -> str:
        return self.smtp_url or f"smtp://127.0.0.1:{self.smtp_sink_port}"

    def database_dsn(self, service: str) -> str:
        """Each service owns a database named `ecrm_<service>` on the same server."""
        base, _, query = self.server_dsn.partition("?")
        head = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
        return f"{head}/ecrm_{service}" + (f"?{query}" if query else "")

    @staticmethod
    def rate(spec: str) -> tuple[float, float]:
        rate, _, burst = spec.partition("/")
        return float(rate), float(burst or rate)

    def workers_for(self, service: str) -> int:
        for item in self.workers.split(","):
            name, _, count = item.partition("=")
            if name.strip() == service and count.strip().isdigit():
                return max(1, int(count))
        return 1

    def resolved_signing_key(self) -> str:
        if self.signing_key:
            return self.signing_key
        return read_or_create_secret(self.home / "signing.key", lambda: secrets.token_urlsafe(48))


def read_or_create_secret(path: Path, make) -> str:  # type: ignore[no-untyped-def]
    """Read a secret file, creating it once with mode 0600."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
