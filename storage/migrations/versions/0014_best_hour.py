"""best hour: the coach may choose a person's reminder time, and learns from it

Revision ID: 0014_best_hour
Revises: 0012_push_budget
Create Date: 2026-12-10 09:00:00.000000

- reminderpreference.time_fixed: false when the person let the coach choose
  (existing rows keep the time they fixed: true).
- besthourcount: per person and candidate hour, check-ins answered in time
  and not (the agency's sums are the prior of each person's belief).
- besthourday: the hour chosen for each person and local day, whether the
  message tells them of a move, and the answer that settles it.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0014_best_hour'
down_revision = '0012_push_budget'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'reminderpreference',
        sa.Column('time_fixed', sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.create_table('besthourcount',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.Time(), nullable=False),
    sa.Column('successes', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('person_id', 'at')
    )
    op.create_table('besthourday',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', sa.Time(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('notice', sa.Boolean(), nullable=False),
    sa.Column('told', sa.Boolean(), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('settled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('person_id', 'day')
    )


def downgrade() -> None:
    op.drop_table('besthourday')
    op.drop_table('besthourcount')
    with op.batch_alter_table('reminderpreference', schema=None) as batch_op:
        batch_op.drop_column('time_fixed')
