"""contacts carry their name, e-mail and title folded (no accents, lower case) in search_text, indexed
(PostgreSQL: a pg_trgm trigram index, which serves "contains"; SQLite: a plain index), so a search no
longer folds every contact on every query

Revision ID: 0017_contact_search_text
Revises: 0016_staging_and_submissions
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_contact_search_text"
down_revision = "0016_staging_and_submissions"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    # The folding of this revision: the app's own (crm.database.fold), which queries are folded with.
    from crm.database import fold

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    contact = sa.table(
        "contact",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("email", sa.String),
        sa.column("title", sa.String),
        sa.column("search_text", sa.Text),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(contact.c.id, contact.c.name, contact.c.email, contact.c.title)
            .where(contact.c.id > last)
            .order_by(contact.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            sa.update(contact)
            .where(contact.c.id == sa.bindparam("contact_id"))
            .values(search_text=sa.bindparam("text")),
            [
                {
                    "contact_id": row.id,
                    "text": "\n".join(fold(value) for value in (row.name, row.email, row.title) if value),
                }
                for row in rows
            ],
        )
        last = rows[-1].id
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.alter_column("search_text", existing_type=sa.Text(), nullable=False)
    op.create_index(
        "ix_contact_search_text",
        "contact",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )


def downgrade():
    op.drop_index("ix_contact_search_text", table_name="contact")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("search_text")
