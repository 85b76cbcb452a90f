"""The chaos report names each request a service failed on its own (answered 500)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.server_errors import unhandled

UVICORN = """INFO:     Started server process [1029]
ERROR:    Exception in ASGI application
Traceback (most recent call last):
  File "x.py", line 1, in f
    raise KeyError('a')
KeyError: 'a'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "x.py", line 3, in g
RuntimeError: boom
INFO:     Shutting down
"""


def test_unhandled_requests_are_counted_by_the_exception_they_ended_with(tmp_path: Path):
    entry = {"event": "http.unhandled", "path": "/v1/track", "level": "error",
             "exception": "Traceback (most recent call last):\n  File ...\nValueError: bad"}  # fmt: skip
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "interactions.log").write_text(UVICORN + f"{json.dumps(entry)}\n" * 2)
    (logs / "contacts.log").write_text('{"event": "http.database_unavailable"}\n')
    assert unhandled(logs) == {
        "interactions": {"RuntimeError: boom": 1, "/v1/track: ValueError: bad": 2}
    }


def test_the_traceback_starlette_raises_again_after_a_500_is_the_same_request(tmp_path: Path):
    trace = "Traceback (most recent call last):\n  File ...\nValueError: bad"
    entry = {"event": "http.unhandled", "path": "/v1/batch", "exception": trace}
    again = "ERROR:    Exception in ASGI application\n" + trace + "\n"
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "interactions.log").write_text(f"{json.dumps(entry)}\n{again}{again}")
    assert unhandled(logs) == {
        "interactions": {"/v1/batch: ValueError: bad": 1, "ValueError: bad": 1}
    }


def test_a_library_traceback_after_the_servers_is_not_taken_for_its_end(tmp_path: Path):
    trace = "Traceback (most recent call last):\n  File ...\nInternalClientError: state 15"
    entry = {"event": "http.unhandled", "path": "/v1/batch", "exception": trace}
    pool_log = (
        "Failed to restore the pool connection floor; retrying\n"
        "Traceback (most recent call last):\n  File ...\n"
        "CannotConnectNowError: the database system is shutting down\n"
    )
    again = f"ERROR:    Exception in ASGI application\n{trace}\n{pool_log}"
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "interactions.log").write_text(f"{json.dumps(entry)}\n{again}")
    assert unhandled(logs) == {"interactions": {"/v1/batch: InternalClientError: state 15": 1}}
