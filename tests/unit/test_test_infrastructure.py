"""Choosing the test infrastructure: containers only where a Docker engine really answers."""

from tests.support import containers


def test_a_docker_client_without_an_engine_means_embedded(monkeypatch):
    monkeypatch.setenv("ECRM_TEST_INFRA", "auto")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert containers.docker_answers() is False
    assert containers.wanted() is False


def test_the_choice_can_be_forced(monkeypatch):
    monkeypatch.setenv("ECRM_TEST_INFRA", "embedded")
    assert containers.wanted() is False
    monkeypatch.setenv("ECRM_TEST_INFRA", "containers")
    assert containers.wanted() is True
