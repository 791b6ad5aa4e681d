"""a file import stages its rows in their own table and publishes them in one short transaction at the
end, so that a long import does not hold SQLite's write lock for the whole file; and a meeting form's key
joins every other creating form's in form_submission (one mechanism), keeping the keys already given

Revision ID: 0016_staging_and_submissions
Revises: 0015_campaign_translation
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0016_staging_and_submissions"
down_revision = "0015_campaign_translation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staged_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("petition_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["petition_id"], ["petition.id"], name=op.f("fk_staged_import_petition_id_petition"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staged_import")),
    )
    op.create_index(op.f("ix_staged_import_petition_id"), "staged_import", ["petition_id"], unique=False)
    op.create_index(op.f("ix_staged_import_heartbeat_at"), "staged_import", ["heartbeat_at"], unique=False)
    op.create_table(
        "staged_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staged_import_id", sa.Integer(), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("country_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_name", sa.String(length=120), nullable=True),
        sa.Column("last_name", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["staged_import_id"],
            ["staged_import.id"],
            name=op.f("fk_staged_signature_staged_import_id_staged_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staged_signature")),
    )
    op.create_index(
        op.f("ix_staged_signature_staged_import_id"), "staged_signature", ["staged_import_id"], unique=False
    )

    _meeting_keys_to_submissions()


def _meeting_keys_to_submissions():
    """Each meeting's form key becomes the submission that logged it: a form sent again still finds it."""
    connection = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    if connection.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    meeting = sa.table(
        "meeting",
        sa.column("id", sa.Integer),
        sa.column("client_key", sa.String),
        sa.column("created_by_id", sa.Integer),
    )
    submission = sa.table(
        "form_submission",
        sa.column("key", sa.String),
        sa.column("user_id", sa.Integer),
        sa.column("location", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    taken = set(connection.execute(sa.select(submission.c.key)).scalars())
    rows = connection.execute(
        sa.select(meeting.c.id, meeting.c.client_key, meeting.c.created_by_id).where(
            meeting.c.client_key.is_not(None), meeting.c.created_by_id.is_not(None)
        )
    ).all()
    kept = [
        {"key": key, "user_id": user_id, "location": f"/meetings/{meeting_id}", "created_at": now}
        for meeting_id, key, user_id in rows
        if key not in taken
    ]
    if kept:
        connection.execute(submission.insert(), kept)
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_constraint("uq_meeting_client_key", type_="unique")
        batch_op.drop_column("client_key")


def downgrade():
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_meeting_client_key", ["client_key"])
    connection = op.get_bind()
    submission = sa.table("form_submission", sa.column("key", sa.String), sa.column("location", sa.String))
    meeting = sa.table("meeting", sa.column("id", sa.Integer), sa.column("client_key", sa.String))
    for key, location in connection.execute(
        sa.select(submission.c.key, submission.c.location).where(submission.c.location.like("/meetings/%"))
    ).all():
        meeting_id = location.rsplit("/", 1)[-1]
        if meeting_id.isdigit():
            connection.execute(sa.update(meeting).where(meeting.c.id == int(meeting_id)).values(client_key=key))
    op.drop_index(op.f("ix_staged_signature_staged_import_id"), table_name="staged_signature")
    op.drop_table("staged_signature")
    op.drop_index(op.f("ix_staged_import_heartbeat_at"), table_name="staged_import")
    op.drop_index(op.f("ix_staged_import_petition_id"), table_name="staged_import")
    op.drop_table("staged_import")
