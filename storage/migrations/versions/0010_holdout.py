"""holdout: a share of each agency's people kept back from the extra nudges

Revision ID: 0010_holdout
Revises: 0009_erasure
Create Date: 2026-12-04 09:00:00.000000

- agency: `holdout_percent` (default 10) and `holdout_seed`, a random seed of
  its own that draws the hold-out group.
- person: `holdout`, drawn for everyone already in an agency with the rule new
  members get on joining (storage.arms.in_holdout, copied here so this
  revision keeps working whatever the code becomes): the first 8 bytes of
  sha256("<seed>:<person id>") as a fraction of 2**64, times 100, below the
  agency's percent.
- Only columns are added (SQLite's ADD COLUMN): no table is rebuilt, so the
  trigger on outboxmessage from 0009 is untouched.
"""
import hashlib
import secrets

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010_holdout'
down_revision = '0009_erasure'
branch_labels = None
depends_on = None

DEFAULT_PERCENT = 10
CHUNK = 500


def _in_holdout(seed: str, person_id: int, percent: int) -> bool:
    digest = hashlib.sha256(f"{seed}:{person_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100 < percent


def upgrade() -> None:
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holdout_percent', sa.Integer(), nullable=False, server_default=str(DEFAULT_PERCENT)))
        batch_op.add_column(sa.Column('holdout_seed', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default=''))

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holdout', sa.Boolean(), nullable=False, server_default='0'))  # a plain default: SQLite adds the column without a rebuild

    _draw()


def _draw() -> None:
    """Every agency gets a seed; everyone already in one is drawn with it."""
    bind = op.get_bind()
    agencies = bind.execute(sa.text("SELECT id FROM agency ORDER BY id")).all()
    held = []
    for (agency_id,) in agencies:
        seed = secrets.token_hex(16)
        bind.execute(
            sa.text("UPDATE agency SET holdout_seed = :s WHERE id = :a"), {"s": seed, "a": agency_id}
        )
        people = bind.execute(
            sa.text("SELECT id FROM person WHERE agency_id = :a"), {"a": agency_id}
        ).all()
        held.extend(pid for (pid,) in people if _in_holdout(seed, pid, DEFAULT_PERCENT))
    update = sa.text("UPDATE person SET holdout = :h WHERE id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    for start in range(0, len(held), CHUNK):
        bind.execute(update, {"h": True, "ids": held[start : start + CHUNK]})


def downgrade() -> None:
    # SQLite drops a column by rebuilding the table: person keeps AUTOINCREMENT (0009).
    sqlite = op.get_bind().dialect.name == "sqlite"
    kwargs = {"table_kwargs": {"sqlite_autoincrement": True}} if sqlite else {}
    with op.batch_alter_table('person', schema=None, **kwargs) as batch_op:
        batch_op.drop_column('holdout')

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('holdout_seed')
        batch_op.drop_column('holdout_percent')
