"""One commit per request, in one place (crm.web.finish_transaction): no view commits or rolls back by
itself. A refusal is undone by crm.web.refusal; what must be kept although the answer is an error says so
with crm.web.keep_changes; what must wait for the commit goes in crm.database.after_commit."""

import ast
from pathlib import Path

import pytest

CRM = Path(__file__).resolve().parents[2] / "crm"
ROUTES = sorted(CRM.glob("*/*routes.py"))


def _transaction_calls(tree: ast.AST) -> list[int]:
    """The lines calling .commit() or .rollback() on anything (db.session, a session, a connection)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "rollback")
    ]


@pytest.mark.parametrize("path", ROUTES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_views_leave_the_commit_to_the_request(path):
    assert _transaction_calls(ast.parse(path.read_text(encoding="utf-8"))) == [], path


def test_the_check_finds_each_way_of_ending_a_transaction():
    source = "db.session.commit()\nsession.rollback()\ndb.session().commit()\nform.commit\nflash('commit')\n"
    assert _transaction_calls(ast.parse(source)) == [1, 2, 3]
