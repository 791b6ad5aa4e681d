"""a file import stages its rows in their own table and publishes them in one short transaction at the
end, so that a long import does not hold SQLite's write lock for the whole file

Revision ID: 0016_staging_and_submissions
Revises: 0014_meeting_client_key
"""
from alembic import op
import sqlalchemy as sa

revision = '0016_staging_and_submissions'
down_revision = '0014_meeting_client_key'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staged_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['petition_id'], ['petition.id'], name=op.f('fk_staged_import_petition_id_petition'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_import')),
    )
    op.create_index(op.f('ix_staged_import_petition_id'), 'staged_import', ['petition_id'], unique=False)
    op.create_index(op.f('ix_staged_import_heartbeat_at'), 'staged_import', ['heartbeat_at'], unique=False)
    op.create_table(
        'staged_signature',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staged_import_id', sa.Integer(), nullable=False),
        sa.Column('email_hash', sa.String(length=64), nullable=False),
        sa.Column('country_id', sa.Integer(), nullable=True),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('first_name', sa.String(length=120), nullable=True),
        sa.Column('last_name', sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(['staged_import_id'], ['staged_import.id'],
                                name=op.f('fk_staged_signature_staged_import_id_staged_import'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_signature')),
    )
    op.create_index(op.f('ix_staged_signature_staged_import_id'), 'staged_signature', ['staged_import_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_staged_signature_staged_import_id'), table_name='staged_signature')
    op.drop_table('staged_signature')
    op.drop_index(op.f('ix_staged_import_heartbeat_at'), table_name='staged_import')
    op.drop_index(op.f('ix_staged_import_petition_id'), table_name='staged_import')
    op.drop_table('staged_import')
