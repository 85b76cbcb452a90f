"""The bench names what the gateway itself failed, from the gateway's log."""

from __future__ import annotations

import json

from bench.gateway_log import proxy_errors


def test_the_gateways_own_errors_are_counted_by_cause(tmp_path):
    log = tmp_path / "gateway.log"
    reset = "read tcp 127.0.0.1:{}->127.0.0.1:28081: read: connection reset by peer"
    lines = [
        json.dumps({"level": "info", "logger": "http", "msg": "server running"}),
        json.dumps({"level": "error", "logger": "http.log.error", "msg": reset.format(33954)}),
        json.dumps({"level": "error", "logger": "http.log.error", "msg": reset.format(40112)}),
        json.dumps(
            {"level": "error", "logger": "http.log.error", "msg": "dial tcp [::1]:8000: refused"}
        ),
        "not json, a line of the supervisor",
    ]
    log.write_text("\n".join(lines) + "\n")
    assert proxy_errors(log) == {
        "read tcp <address>-><address>: read: connection reset by peer": 2,
        "dial tcp <address>: refused": 1,
    }


def test_no_log_no_errors(tmp_path):
    assert proxy_errors(tmp_path / "gateway.log") == {}
