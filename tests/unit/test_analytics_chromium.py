"""Finding the headless browser for the dashboard tests."""

from __future__ import annotations

import stat

from ecrm import chromium, syspkg


def test_an_explicit_browser_path_wins(tmp_path, monkeypatch):
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("ECRM_CHROMIUM", str(fake))
    assert chromium.ensure_chromium() == str(fake)


def test_nothing_is_installed_when_a_browser_is_on_the_path(tmp_path, monkeypatch):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("ECRM_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(
        syspkg.subprocess,
        "run",
        lambda *a, **k: (_ for _ in ()).throw(AssertionError("must not install")),
    )
    assert chromium.ensure_chromium() == str(fake)


def test_without_a_way_to_install_it_says_none(tmp_path, monkeypatch):
    monkeypatch.delenv("ECRM_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no browser, and no apt-get to install one
    monkeypatch.setattr(
        syspkg.subprocess,
        "run",
        lambda *a, **k: (_ for _ in ()).throw(AssertionError("must not try to install")),
    )
    assert chromium.ensure_chromium() is None
