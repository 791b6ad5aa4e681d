"""docs/security.md names the test behind every claim: each named test exists, and every row of its
tables names one. A test renamed or removed without the page being updated fails here."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
# `tests/x.py::test_name`, or `::test_name` after such a reference (the same file).
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?::(test_\w+)`")


def _references(text: str) -> list[tuple[str, str]]:
    found, current = [], None
    for match in REFERENCE.finditer(text):
        current = match.group(1) or current
        assert current, f"{match.group(0)} names no file before it"
        found.append((current, match.group(2)))
    return found


def test_every_test_the_page_names_exists():
    references = _references(DOC.read_text())
    assert len(references) > 60
    for path, name in references:
        source = (ROOT / path).read_text()
        assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} is named in docs/security.md"


def test_every_row_of_the_tables_names_a_test():
    rows = [
        line
        for line in DOC.read_text().splitlines()
        if line.startswith("| ") and not line.startswith(("| threat", "| chapter", "|---"))
    ]
    assert len(rows) > 30
    for row in rows:
        if "static analysis" in row:  # a check run by make test, not a pytest test
            assert ".ci/security-checks" in row
            continue
        assert REFERENCE.search(row), row[:120]
