"""A failed test's report carries what each process logged while it ran, and only that."""

from __future__ import annotations

from tests.support.failure_logs import LINES_PER_LOG, log_sizes, written_since


def test_only_what_each_log_gained_during_the_test(tmp_path):
    (tmp_path / "support.log").write_text("before the test\n")
    (tmp_path / "contacts.log").write_text("quiet\n")
    sizes = log_sizes(tmp_path)
    with (tmp_path / "support.log").open("a") as log:
        log.write("consumer.retry\nconsumer.applied\n")
    (tmp_path / "sales.log").write_text("started during the test\n")

    excerpt = written_since(tmp_path, sizes)

    assert excerpt == (
        "== sales.log\nstarted during the test\n== support.log\nconsumer.retry\nconsumer.applied"
    )


def test_a_long_log_is_cut_to_its_last_lines(tmp_path):
    sizes = log_sizes(tmp_path)
    (tmp_path / "relay.log").write_text("".join(f"line {n}\n" for n in range(500)))

    lines = written_since(tmp_path, sizes).splitlines()

    assert lines[0] == f"== relay.log (the last {LINES_PER_LOG} of 500)"
    assert lines[1:] == [f"line {n}" for n in range(500 - LINES_PER_LOG, 500)]


def test_no_log_directory_no_excerpt(tmp_path):
    assert written_since(tmp_path / "logs", log_sizes(tmp_path / "logs")) == ""
