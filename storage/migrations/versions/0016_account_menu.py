"""account menu: the menu last sent to each chat account

Revision ID: 0016_account_menu
Revises: 0015_dashboard
Create Date: 2026-12-06 22:05:00

- channelaccount.menu: the menu (stage, working-group role, language) last sent
  with a reply, so the next one is sent only when it changes (NULL: none yet).
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0016_account_menu'
down_revision = '0015_dashboard'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('channelaccount', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('menu', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('channelaccount', schema=None) as batch_op:
        batch_op.drop_column('menu')
