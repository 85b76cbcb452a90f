"""testcontainers' PostgreSQL and Kafka (KRaft), for machines with a Docker engine."""

from __future__ import annotations

import os


def docker_answers() -> bool:
    """A Docker engine that answers a ping (a `docker` client on PATH is not enough)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def wanted() -> bool:
    choice = os.environ.get("ECRM_TEST_INFRA", "auto")
    if choice == "containers":
        return True
    if choice == "embedded":
        return False
    return docker_answers()


def start() -> tuple[str, str, list]:
    """(server DSN, bootstrap, running containers)."""
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    pg = PostgresContainer("postgres:17", username="postgres", password="postgres", driver=None)
    pg.with_command("postgres -c max_connections=300")
    pg.start()
    kafka = KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft()
    kafka.start()
    return pg.get_connection_url(), kafka.get_bootstrap_server(), [pg, kafka]
