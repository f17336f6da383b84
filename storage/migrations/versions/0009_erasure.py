"""erasure: ids never reused on SQLite, files tied to their message, sent farewells forgotten

Revision ID: 0009_erasure
Revises: 0008_working_group_loop
Create Date: 2026-12-03 13:34:30.468325

- SQLite: the tables whose ids are kept elsewhere (audit rows, counters, dedupe
  and retry keys, file ids) are rebuilt with AUTOINCREMENT, so no id is handed
  out twice (PostgreSQL's sequences never did). storage.migrate runs this with
  foreign keys off, so the rebuild cascades into nothing.
- media: `outbox_id` (the row a file was published for; deleted with it),
  `used_at` (a document is downloaded once), and room for the XLSX content type
  (65 characters).
- A trigger on outboxmessage: the farewell sent after an erasure (a reply
  marked `"extra": {"farewell": true}` to a chat no account has any more)
  forgets its chat, token and text as soon as it is finished (sent, dropped,
  failed or deferred). Rebuilding outboxmessage on SQLite drops its triggers:
  a later migration that rebuilds it must create the trigger again
  (tests/handlers/test_erasure_dump.py fails if it is missing).
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009_erasure'
down_revision = '0008_working_group_loop'
branch_labels = None
depends_on = None

NEVER_REUSED = ("person", "channelaccount", "journey", "outboxmessage", "idea", "feedback", "nudge")
FINISHED = "('sent', 'dropped', 'failed', 'deferred')"

SQLITE_TRIGGER = f"""
CREATE TRIGGER outbox_forget_farewell AFTER UPDATE OF status ON outboxmessage
FOR EACH ROW WHEN NEW.kind = 'reply' AND NEW.account_id IS NULL
    AND NEW.status IN {FINISHED}
    AND EXISTS (
        SELECT 1 FROM json_each(NEW.payload) AS reply
        WHERE json_extract(reply.value, '$.extra.farewell') = 1
    )
BEGIN
    UPDATE outboxmessage
    SET chat_id = '', payload = '[]', reply_token = NULL, reply_token_expires_at = NULL
    WHERE id = NEW.id;
END
"""

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION outbox_forget_farewell() RETURNS trigger AS $$
BEGIN
    IF NEW.kind = 'reply' AND NEW.account_id IS NULL AND NEW.status IN {FINISHED}
        AND EXISTS (
            SELECT 1 FROM json_array_elements(NEW.payload) AS reply
            WHERE (reply -> 'extra' ->> 'farewell') = 'true'
        )
    THEN
        NEW.chat_id := '';
        NEW.payload := '[]'::json;
        NEW.reply_token := NULL;
        NEW.reply_token_expires_at := NULL;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""

POSTGRES_TRIGGER = """
CREATE TRIGGER outbox_forget_farewell BEFORE UPDATE OF status ON outboxmessage
FOR EACH ROW EXECUTE FUNCTION outbox_forget_farewell()
"""


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        for table in NEVER_REUSED:
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ):
                pass

    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outbox_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.alter_column('content_type',
               existing_type=sa.VARCHAR(length=64),
               type_=sqlmodel.sql.sqltypes.AutoString(length=128),
               existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_media_outbox_id'), ['outbox_id'], unique=False)
        batch_op.create_foreign_key(
            'fk_media_outbox_id', 'outboxmessage', ['outbox_id'], ['id'], ondelete='CASCADE'
        )

    if _sqlite():
        op.execute(SQLITE_TRIGGER)
    else:
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS outbox_forget_farewell" + ("" if _sqlite() else " ON outboxmessage"))
    if not _sqlite():
        op.execute("DROP FUNCTION IF EXISTS outbox_forget_farewell()")

    op.execute("DELETE FROM media")  # published files are short-lived; some types no longer fit
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_constraint('fk_media_outbox_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_media_outbox_id'))
        batch_op.alter_column('content_type',
               existing_type=sqlmodel.sql.sqltypes.AutoString(length=128),
               type_=sa.VARCHAR(length=64),
               existing_nullable=False)
        batch_op.drop_column('used_at')
        batch_op.drop_column('outbox_id')
    # The SQLite tables keep AUTOINCREMENT: the older revisions work the same with it.
