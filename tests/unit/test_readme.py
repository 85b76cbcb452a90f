"""The README's event catalogue names every event the code defines."""

from pathlib import Path

from shared.events.catalogue import all_event_types

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_event_type_is_in_the_readme_catalogue():
    catalogue = README.split("## Event catalogue", 1)[1]
    missing = sorted({t.__name__ for t in all_event_types()} - set(_words(catalogue)))
    assert not missing, f"README event catalogue lacks {missing}"


def _words(text: str) -> list[str]:
    return [w.strip("`|,.()") for w in text.split()]
