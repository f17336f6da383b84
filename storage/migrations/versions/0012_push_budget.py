"""push budget: each platform's monthly pushes as the nudge planner last saw them

Revision ID: 0012_push_budget
Revises: 0011_ladder
Create Date: 2026-12-10 10:00:00.000000

- pushmonth: one row per channel and local month: the platform's quota and
  use, the nudge messages planned and not yet sent, and how many planned
  messages were set aside because the month's pushes would not stretch to
  them. /summary reads it; nothing asks the platform at report time.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012_push_budget'
down_revision = '0011_ladder'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pushmonth',
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('planned', sa.Integer(), nullable=False),
    sa.Column('dropped', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'month')
    )


def downgrade() -> None:
    op.drop_table('pushmonth')
