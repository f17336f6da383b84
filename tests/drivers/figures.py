"""The summary's figures held to those of every person's row: what /summary,
the weekly post and the dashboard say must be what counting each row says."""

from __future__ import annotations

from sqlmodel import select

from handlers.reports.figures import AgencySummary, summarise
from handlers.reports.period import fiscal_period
from handlers.reports.summary import agency_figures
from storage.db import writing
from storage.models import Agency
from storage.reports import headcounts, person_rows
from tests.drivers.bulk import SKILLS
from tests.drivers.working_group import FISCAL_YEAR


async def figures_agree(app, code: str = "DEMO", year: int = FISCAL_YEAR) -> AgencySummary:  # noqa: ANN001
    """The agency's summary figures for fiscal `year`, after checking them against
    every row's."""
    async with app.read_sessions() as session:
        agency = (await session.exec(select(Agency).where(Agency.code == code))).one()
    counted = await agency_figures(writing(app.sessions), app.content, agency, year)
    async with app.read_sessions() as session:
        rows = await person_rows(session, code, fiscal_period(year, agency.timezone), SKILLS)
        staff_list = await headcounts(session, agency.id)
    by_row = summarise(
        rows,
        [s.id for s in app.content.skills],
        [g.id for g in app.content.groups.personnel_groups],
        staff_list,
    )
    assert counted.total == by_row.total
    assert counted.by_unit == by_row.by_unit
    assert counted.by_group == by_row.by_group
    assert counted.skills == by_row.skills
    return counted
