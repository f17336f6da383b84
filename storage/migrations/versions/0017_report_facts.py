"""report facts: each person's part of the figures, kept up to date by the database

Revision ID: 0017_report_facts
Revises: 0016_account_menu
Create Date: 2026-12-07 01:30:00

- reportfact, reportfactskill, reportfactspan: each person's cell of the tally,
  ratings and first-round step durations for one report period (see
  storage/models/facts.py), worked out when a summary first needs them.
- reporttotals: their sums per agency and period, moved by each refresh.
- reportstale: the people whose facts are out of date. Triggers on person,
  journey, journeystep, assessment and assessmentanswer add the person there
  whenever a row the figures come from is written or deleted (and a new person
  when they are added). On PostgreSQL they
  run once per statement over its rows (a bulk insert lists each person once);
  on SQLite once per row.

The tables start empty: the first summary of each period works everyone out.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0017_report_facts'
down_revision = '0016_account_menu'
branch_labels = None
depends_on = None

# Tables whose rows name their person, and the one that reaches them through its
# assessment.
DIRECT = ('journey', 'journeystep', 'assessment')
ANSWER = 'assessmentanswer'
EVENTS = (('insert', 'NEW'), ('update', 'NEW'), ('delete', 'OLD'))
# The person's columns the figures read.
PERSON_COLUMNS = ('agency_id', 'unit_id', 'personnel_group', 'holdout', 'onboarded_at')


def _not_listed(person: str) -> str:
    return (
        f'NOT EXISTS (SELECT 1 FROM reportstale s WHERE s.person_id = {person})'
        f' AND EXISTS (SELECT 1 FROM person p WHERE p.id = {person})'
    )


def _sqlite_triggers() -> list[str]:
    statements = []
    for table in DIRECT:
        for event, row in EVENTS:
            statements.append(
                f'CREATE TRIGGER reportstale_{table}_{event} AFTER {event.upper()} ON {table}'
                f' BEGIN INSERT INTO reportstale (person_id) SELECT {row}.person_id'
                f' WHERE {_not_listed(f"{row}.person_id")}; END'
            )
    for event, row in EVENTS:
        statements.append(
            f'CREATE TRIGGER reportstale_{ANSWER}_{event} AFTER {event.upper()} ON {ANSWER}'
            ' BEGIN INSERT INTO reportstale (person_id) SELECT a.person_id FROM assessment a'
            f' WHERE a.id = {row}.assessment_id AND {_not_listed("a.person_id")}; END'
        )
    statements.append(
        'CREATE TRIGGER reportstale_person_insert AFTER INSERT ON person'
        ' BEGIN INSERT INTO reportstale (person_id) VALUES (NEW.id); END'
    )
    changed = ' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in PERSON_COLUMNS)
    statements.append(
        f'CREATE TRIGGER reportstale_person_update AFTER UPDATE OF {", ".join(PERSON_COLUMNS)}'
        f' ON person FOR EACH ROW WHEN {changed}'
        ' BEGIN INSERT INTO reportstale (person_id) SELECT NEW.id'
        f' WHERE {_not_listed("NEW.id")}; END'
    )
    return statements


def _postgresql_triggers() -> list[str]:
    statements = [
        'CREATE FUNCTION reportstale_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN'
        ' INSERT INTO reportstale (person_id) SELECT DISTINCT c.person_id FROM changed c'
        f' WHERE {_not_listed("c.person_id")}; RETURN NULL; END $$',
        'CREATE FUNCTION reportstale_answers() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN'
        ' INSERT INTO reportstale (person_id) SELECT DISTINCT a.person_id FROM changed c'
        ' JOIN assessment a ON a.id = c.assessment_id'
        f' WHERE {_not_listed("a.person_id")}; RETURN NULL; END $$',
        'CREATE FUNCTION reportstale_person() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN'
        ' INSERT INTO reportstale (person_id) SELECT NEW.id'
        f' WHERE {_not_listed("NEW.id")}; RETURN NULL; END $$',
    ]
    for table in (*DIRECT, ANSWER):
        function = 'reportstale_answers' if table == ANSWER else 'reportstale_rows'
        for event, row in EVENTS:
            statements.append(
                f'CREATE TRIGGER reportstale_{table}_{event} AFTER {event.upper()} ON {table}'
                f' REFERENCING {row} TABLE AS changed'
                f' FOR EACH STATEMENT EXECUTE FUNCTION {function}()'
            )
    statements.append(
        'CREATE TRIGGER reportstale_person_insert AFTER INSERT ON person'
        ' FOR EACH ROW EXECUTE FUNCTION reportstale_person()'
    )
    changed = ' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in PERSON_COLUMNS)
    statements.append(
        f'CREATE TRIGGER reportstale_person_update AFTER UPDATE OF {", ".join(PERSON_COLUMNS)}'
        f' ON person FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION reportstale_person()'
    )
    return statements


def _trigger_names() -> list[tuple[str, str]]:
    names = [(f'reportstale_{t}_{e}', t) for t in (*DIRECT, ANSWER) for e, _ in EVENTS]
    return [*names, ('reportstale_person_insert', 'person'), ('reportstale_person_update', 'person')]


def upgrade() -> None:
    op.create_table('reportstale',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reportstale', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reportstale_person_id'), ['person_id'], unique=False)

    op.create_table('reportfact',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('period_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('personnel_group', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reported', sa.Boolean(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('joined', sa.Boolean(), nullable=False),
    sa.Column('holdout', sa.Boolean(), nullable=False),
    sa.Column('beyond', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'period_end')
    )
    with op.batch_alter_table('reportfact', schema=None) as batch_op:
        batch_op.create_index('ix_reportfact_agency_period', ['agency_id', 'period_end'], unique=False)

    op.create_table('reportfactskill',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('period_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('skill_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('pre', sa.Integer(), nullable=False),
    sa.Column('post', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reportfactskill', schema=None) as batch_op:
        batch_op.create_index('ix_reportfactskill_agency_period', ['agency_id', 'period_end'], unique=False)
        batch_op.create_index(batch_op.f('ix_reportfactskill_person_id'), ['person_id'], unique=False)

    op.create_table('reportfactspan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('period_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('holdout', sa.Boolean(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('tenths', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reportfactspan', schema=None) as batch_op:
        batch_op.create_index('ix_reportfactspan_agency_period', ['agency_id', 'period_end'], unique=False)
        batch_op.create_index(batch_op.f('ix_reportfactspan_person_id'), ['person_id'], unique=False)

    op.create_table('reporttotals',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('period_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('period_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.PrimaryKeyConstraint('agency_id', 'period_end')
    )

    postgresql = op.get_bind().dialect.name == 'postgresql'
    for statement in _postgresql_triggers() if postgresql else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for name, table in _trigger_names():
        op.execute(f'DROP TRIGGER IF EXISTS {name}' + (f' ON {table}' if postgresql else ''))
    if postgresql:
        for function in ('reportstale_rows', 'reportstale_answers', 'reportstale_person'):
            op.execute(f'DROP FUNCTION IF EXISTS {function}()')
    for table in ('reporttotals', 'reportfactspan', 'reportfactskill', 'reportfact'):
        op.drop_table(table)
    op.drop_table('reportstale')
