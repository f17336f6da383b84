"""ladder: unanswered reminders in a row, the check-in a follow-up belongs to, the
pause notice, and the plan day a come-back nudge answered

Revision ID: 0011_ladder
Revises: 0010_holdout
Create Date: 2026-12-05 10:00:00.000000

Only columns added to nudgecounter (no table is rebuilt).
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0011_ladder'
down_revision = '0010_holdout'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('nudgecounter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unanswered', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_checkin_due', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('ladder_told_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('comeback_for', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('nudgecounter', schema=None) as batch_op:
        batch_op.drop_column('comeback_for')
        batch_op.drop_column('ladder_told_at')
        batch_op.drop_column('last_checkin_due')
        batch_op.drop_column('unanswered')
