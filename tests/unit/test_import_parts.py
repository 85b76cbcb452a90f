"""`ecrm import` cuts a file into parts that each fit one request, and maps the lines the API
names in a part back to the lines of the file."""

from __future__ import annotations

import csv
import io

from ecrm.importer import parts

FILE = (
    "\ufeffemail,first_name,attributes.note\n"  # line 1
    "a@example.com,Ada,\n"  # 2
    '"b@example.com","Bob","two\nlines"\n'  # 3-4
    "\n"  # 5: blank, left out
    "c@example.com,Cy,\n"  # 6
    ",,\n"  # 7: nothing in it, left out
    "d@example.com,Di,\n"  # 8
)


def test_each_part_repeats_the_header_and_knows_the_file_line_of_its_rows():
    cut = list(parts(FILE, rows=2))
    assert [list(p.lines.values()) for p in cut] == [[2, 4], [6, 8]]
    for part in cut:
        records = list(csv.reader(io.StringIO(part.text)))
        assert records[0] == ["email", "first_name", "attributes.note"]
        assert len(records) == 3
    first = csv.reader(io.StringIO(cut[0].text))
    next(first)
    seen = [(first.line_num, row[0]) for row in first]
    assert [(cut[0].lines[n], email) for n, email in seen] == [
        (2, "a@example.com"),
        (4, "b@example.com"),
    ]


def test_a_part_also_ends_at_its_size():
    big = "email,attributes.note\n" + "".join(f"x{i}@example.com,{'n' * 500}\n" for i in range(9))
    assert [len(p.lines) for p in parts(big, rows=100, size=2_000)] == [4, 4, 1]
