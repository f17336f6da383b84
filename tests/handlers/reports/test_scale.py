"""Reports and turns that do not grow with the agency: the same statements for 60
people as for 1,200, no statement binding more than a fixed number of parameters
(PostgreSQL's driver refuses more than 32,767, so a list of every person's id
breaks a large agency), and /summary and the exports working on PostgreSQL with
40,000 people."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from jobs.exports import export_report
from storage.reports import person_rows
from tests.drivers.bulk import SKILLS, seed_agency
from tests.drivers.chat import Person, RecordingChannel, make_app, t
from tests.drivers.figures import figures_agree
from tests.drivers.journey import onboard
from tests.drivers.statements import counting
from tests.drivers.working_group import FISCAL_YEAR, THIS_YEAR, make_admin

MOST_PARAMETERS = 1_000  # far below any driver's limit, far above any fixed query
SMALL, LARGE = 60, 2_000  # LARGE > MOST_PARAMETERS: a list of everyone's ids would show
OCTOBER = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # the rounds begin in fiscal year 2570


async def _summary(app, admin: Person):  # noqa: ANN001, ANN202
    with counting(app.engine) as seen:
        replies = await admin.say("/summary")
        await app.delivery.drain([admin.channel.name])
    return replies, seen


async def _export(app, admin: Person):  # noqa: ANN001, ANN202
    with counting(app.engine) as seen:
        replies = await admin.say("/export")
    [document] = [r for r in replies if r.document]
    return document, seen


async def _nudge_preview(app, admin: Person):  # noqa: ANN001, ANN202
    with counting(app.engine) as seen:
        replies = await admin.say("/nudge")
        await admin.tap(2)  # cancel
    return replies, seen


async def _menu(app, person: Person):  # noqa: ANN001, ANN202
    with counting(app.engine) as seen:
        replies = await person.say("/menu")
        await app.delivery.drain([person.channel.name])
    return replies, seen


def _people_in(workbook_bytes: bytes, title: str) -> int:
    """Data rows of the person sheet `title` (rows after its header block)."""
    book = load_workbook(io.BytesIO(workbook_bytes), read_only=True)
    sheet = book[title]
    numbers = [row[0] for row in sheet.iter_rows(values_only=True) if row]
    return sum(1 for value in numbers if isinstance(value, int))


async def test_statements_and_parameters_do_not_grow_with_the_agency(app, channel):
    admin = await make_admin(app, channel, "head")
    staff = Person(app, channel)
    await onboard(staff)
    await seed_agency(app.sessions, "DEMO", SMALL, OCTOBER)

    # The first summary after people changed works them out again, 450 at a time
    # (storage.facts): its statements follow the changes; the next one's do not.
    first_summary, first_seen = await _summary(app, admin)
    small_summary, small_seen = await _summary(app, admin)
    small_menu, small_menu_seen = await _menu(app, staff)
    small_doc, small_export = await _export(app, admin)
    small_nudge, small_nudge_seen = await _nudge_preview(app, admin)

    await seed_agency(app.sessions, "DEMO", LARGE - SMALL, OCTOBER, seed=8)
    changed_summary, changed_seen = await _summary(app, admin)  # 1,940 new people
    large_summary, large_seen = await _summary(app, admin)
    large_menu, large_menu_seen = await _menu(app, staff)
    large_doc, large_export = await _export(app, admin)
    large_nudge, large_nudge_seen = await _nudge_preview(app, admin)

    # the admin and the staff member joined by chat: 2 more than the seeded people
    assert str(SMALL + 2) in small_summary[0].text
    assert f"{LARGE + 2:,}" in large_summary[0].text or str(LARGE + 2) in large_summary[0].text
    assert large_seen.count == small_seen.count
    assert changed_summary[0].text == large_summary[0].text
    assert first_seen.count > small_seen.count and changed_seen.count > first_seen.count
    assert large_menu_seen.count == small_menu_seen.count
    assert large_menu[0].text == small_menu[0].text
    assert large_export.count == small_export.count
    assert large_nudge[0].text != small_nudge[0].text  # more people to nudge
    # /nudge reads the lagging people's settings in batches: more statements, none wide
    assert large_nudge_seen.count > small_nudge_seen.count
    for seen in (changed_seen, large_seen, large_menu_seen, large_export, large_nudge_seen):
        assert seen.most_parameters <= MOST_PARAMETERS, seen.widest()
    assert len(large_doc.document) > len(small_doc.document)


async def test_the_csv_export_of_everyone_binds_few_parameters(app, tmp_path):
    await seed_agency(app.sessions, "DEMO", LARGE, OCTOBER)
    out = tmp_path / "everyone.csv"
    with counting(app.engine) as seen:
        people = await export_report(
            app.sessions, app.content, app.clock, out, "csv", None, "th", year=FISCAL_YEAR
        )
    assert people == LARGE
    assert seen.most_parameters <= MOST_PARAMETERS, seen.widest()
    header, *lines = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(lines) == LARGE
    # the one-query table says what the workbook's rows say, person by person
    async with app.sessions() as session:
        rows = {r.person_id: r for r in await person_rows(session, None, THIS_YEAR, SKILLS)}
    for line in lines:
        cell = dict(zip(header, line, strict=True))
        row = rows[int(cell["person_id"])]
        assert cell["current_step"] == (str(row.current_step) if row.is_open else "")
        assert cell["completed_round"] == (str(row.completed.round_no) if row.completed else "")
        for skill in SKILLS:
            assert cell[f"pre_{skill}"] == str(row.pre.get(skill, ""))
            assert cell[f"post_{skill}"] == str(row.post.get(skill, ""))
        assert int(cell["learning_minutes"]) == row.learning_minutes
        assert int(cell["evidence_entries"]) == row.evidence_entries == len(row.evidence)
        assert cell["name"] == ""  # names only when asked for


async def test_counted_figures_equal_the_figures_of_every_row(app):
    """The kept figures of /summary give what counting each person's row gives."""
    await seed_agency(app.sessions, "DEMO", LARGE, OCTOBER)
    counted = await figures_agree(app)
    assert counted.total.enrolled == LARGE


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("DLCOACH_LONG_TESTS"), reason="long: run by .ci/run")
async def test_summary_and_exports_work_on_postgres_with_40000_people(
    postgres_url, clock, tmp_path
):
    people = 40_000
    app = await make_app(postgres_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    try:
        admin = await make_admin(app, channel, "head")
        await seed_agency(app.sessions, "DEMO", people, OCTOBER)
        summary, seen = await _summary(app, admin)
        assert seen.most_parameters <= MOST_PARAMETERS, seen.widest()
        assert f"{people + 1:,}" in summary[0].text or str(people + 1) in summary[0].text
        document, seen = await _export(app, admin)
        assert seen.most_parameters <= MOST_PARAMETERS, seen.widest()
        title = t(app, "report.sheet_people")
        assert _people_in(document.document, title) == people + 1
        out = tmp_path / "demo.csv"
        assert (
            await export_report(
                app.sessions, app.content, app.clock, out, "csv", "DEMO", "th", year=FISCAL_YEAR
            )
            == people + 1
        )
        assert len(out.read_text(encoding="utf-8-sig").splitlines()) == people + 2
    finally:
        await app.close()
