"""`flask --app wsgi statements create --campaign SLUG --title TITLE --text-file FILE [--language es]` prints
the new statement's slug; it is open for signatures at /s/<slug> from then on."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEvent
from crm.extensions import db
from crm.statements.models import Statement

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "statement.txt"
    path.write_text("Las organizaciones firmantes\nnos solidarizamos.\n", encoding="utf-8")
    return path


def _create(runner, *args):
    return runner.invoke(args=["statements", "create", *args])


def test_create_prints_the_slug_of_a_statement_open_now(runner, client, campaign, text_file):
    db.session.commit()
    result = _create(
        runner,
        "--campaign",
        campaign.slug,
        "--title",
        "En solidaridad, ¡ya!",
        "--text-file",
        str(text_file),
        "--language",
        "es",
    )
    assert result.exit_code == 0, result.output
    assert result.output == "en-solidaridad-ya\n"
    statement = db.session.scalar(sa.select(Statement).where(Statement.slug == "en-solidaridad-ya"))
    assert statement.campaign_id == campaign.id and statement.languages == ["es"]
    assert statement.text("es").body == "Las organizaciones firmantes\nnos solidarizamos."
    assert statement.text("en").language == "es"  # the only wording, whatever the reader's language
    page = client.get("/s/en-solidaridad-ya?lang=es")
    assert page.status_code == 200 and "nos solidarizamos" in page.get_data(as_text=True)
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "statement.create")).one()
    assert event.actor_label == "cli" and event.campaign_id == campaign.id


def test_english_is_the_default_language_and_slugs_stay_unique(runner, campaign, text_file):
    db.session.commit()
    args = ["--campaign", campaign.slug, "--title", "Standing in solidarity", "--text-file", str(text_file)]
    first, second = _create(runner, *args), _create(runner, *args)
    assert (first.output, second.output) == ("standing-in-solidarity\n", "standing-in-solidarity-2\n")
    statement = db.session.scalar(sa.select(Statement).where(Statement.slug == "standing-in-solidarity"))
    assert statement.languages == ["en"]


def test_the_text_can_come_from_standard_input(runner, campaign):
    db.session.commit()
    result = runner.invoke(
        args=["statements", "create", "--campaign", campaign.slug, "--title", "Piped", "--text-file", "-"],
        input="From a pipe.\n",
    )
    assert result.exit_code == 0 and result.output == "piped\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--campaign", "no-such-campaign", "--title", "T"], "There is no campaign 'no-such-campaign'"),
        (["--campaign", "test-campaign", "--title", "  "], "Give the title in this language too"),
        (["--campaign", "test-campaign", "--title", "T", "--language", "fr"], "Invalid value for '--language'"),
    ],
)
def test_a_refused_statement_changes_nothing(runner, campaign, text_file, args, message):
    db.session.commit()
    result = _create(runner, *args, "--text-file", str(text_file))
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Statement)) == 0


def test_an_empty_text_file_is_refused(runner, campaign, tmp_path):
    db.session.commit()
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    result = _create(runner, "--campaign", campaign.slug, "--title", "T", "--text-file", str(empty))
    assert result.exit_code == 1 and "Give the text in this language too" in result.output


def test_drop_unconfirmed_is_a_command_too(runner, client, statement, clock):
    from tests.statements.conftest import sign

    sign(client, statement)
    clock.advance(days=8)
    result = runner.invoke(args=["statements", "drop-unconfirmed"])
    assert result.exit_code == 0 and result.output == "dropped 1 unconfirmed sign-ups\n"
