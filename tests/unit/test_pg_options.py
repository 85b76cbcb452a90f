"""ECRM_EMBEDDED_PG_OPTIONS: more server options for the embedded PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecrm.embedded.postgres import PgLayout, parse_options, postgres_argv


def test_options_add_to_and_override_the_defaults():
    layout = PgLayout(Path("/d"), Path("/s"), None)
    argv = postgres_argv(
        layout, 5544, "shared_preload_libraries=pg_stat_statements,auto_explain; shared_buffers=1GB"
    )
    options = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-c"]
    assert "shared_preload_libraries=pg_stat_statements,auto_explain" in options
    assert "shared_buffers=1GB" in options and "shared_buffers=256MB" not in options
    assert "timezone=UTC" in options


@pytest.mark.parametrize("spec", ["shared_buffers", "=1GB", "a=1;;b"])
def test_malformed_options_are_refused(spec):
    with pytest.raises(ValueError, match="is not name=value"):
        parse_options(spec)


def test_no_options_is_no_change():
    assert parse_options("") == {} and parse_options(" ; ") == {}
