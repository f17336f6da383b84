"""The agency summary as the working group reads it: text, a card and charts
(described here, drawn at delivery).

Built from content and a language only (no conversation), so /summary and the
weekly post to the working-group chat say exactly the same thing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from content.loader import Content
from handlers.dates import date_text
from handlers.messages import Card, CardRow, Render, Reply
from handlers.reports.arms import ArmComparison, arms_text, compare
from handlers.reports.figures import STEPS, AgencySummary, Tally, figures_of, summarise
from handlers.reports.period import fiscal_period, fiscal_year_label
from handlers.reports.pushes import pushes_rows, pushes_text
from storage import facts
from storage.models import Agency, PushMonth
from storage.reports import (
    Period,
    PersonRow,
    headcounts,
    not_joined,
    person_rows,
)

# A writing transaction to bring the people's facts up to date in (storage.facts):
# the turn's own session in a turn, a `transaction` of its own anywhere else.
Writing = Callable[[], AbstractAsyncContextManager[AsyncSession]]

T = TypeVar("T")


def group_label(content: Content, lang: str, group_id: str) -> str:
    option = content.group(group_id) if group_id else None
    return option.label.get(lang) if option else content.t("admin.no_group", lang)


def unit_label(content: Content, lang: str, unit: str) -> str:
    return unit or content.t("admin.no_unit", lang)


async def agency_figures(
    write: Writing, content: Content, agency: Agency, year: int
) -> AgencySummary:
    """The agency's figures in fiscal year `year` (Buddhist Era): the sums kept of
    everyone's facts, moved by the people whose rows changed since the last summary
    (storage.facts), so the cost follows the changes, not the agency's size."""
    period = fiscal_period(year, agency.timezone)
    agency_id: int = agency.id  # type: ignore[assignment]
    async with write() as session:
        totals = await facts.refresh(session, agency_id, agency.code, period)
        units = await facts.unit_names(session, agency_id)
        heads = await headcounts(session, agency_id)
        missing = await not_joined(session, agency_id)
    tally, skills = totals.tally_cells(units), totals.skill_cells()
    compared = compare(*totals.arm_counts(), agency.holdout_percent)
    figures = figures_of(
        tally,
        skills,
        [s.id for s in content.skills],
        [g.id for g in content.groups.personnel_groups],
        heads,
    )
    figures.year, figures.not_joined, figures.arms = year, missing, compared
    return figures


async def agency_summary(
    reads: async_sessionmaker[AsyncSession],
    write: Writing,
    content: Content,
    agency: Agency,
    year: int,
) -> tuple[list[PersonRow], AgencySummary]:
    """The agency's people in fiscal year `year` (Buddhist Era) and their figures, which
    are summed from the rows already read (the same figures as `agency_figures`, which
    a test holds them to) rather than counted again; the rows are read on read
    sessions, beside the comparison of the arms brought up to date in `write`."""
    skills = [s.id for s in content.skills]
    period = fiscal_period(year, agency.timezone)
    rows, heads, missing, compared = await asyncio.gather(
        _read(reads, person_rows, agency.code, period, skills),
        _read(reads, headcounts, agency.id),
        _read(reads, not_joined, agency.id),
        _compared(write, agency, period),
    )
    figures = summarise(rows, skills, [g.id for g in content.groups.personnel_groups], heads)
    figures.year, figures.not_joined, figures.arms = year, missing, compared
    return rows, figures


async def _read(
    reads: async_sessionmaker[AsyncSession],
    query: Callable[..., Awaitable[T]],
    *args: Any,
) -> T:
    """One report query in a read session of its own."""
    async with reads() as session:
        return await query(session, *args)


async def _compared(write: Writing, agency: Agency, period: Period) -> ArmComparison:
    """The nudged and hold-out groups compared as they stood at the period's end."""
    async with write() as session:
        totals = await facts.refresh(session, agency.id, agency.code, period)  # type: ignore[arg-type]
    return compare(*totals.arm_counts(), agency.holdout_percent)


def enrolled_text(content: Content, lang: str, tally: Tally) -> str:
    """ "12" people, or "12 of 40 (30%)" where the headcount is known."""
    if tally.coverage is None:
        return content.t("admin.enrolled_count", lang, enrolled=tally.enrolled)
    return content.t(
        "admin.enrolled_of",
        lang,
        enrolled=tally.enrolled,
        headcount=tally.headcount,
        coverage=tally.coverage,
    )


def _steps_line(content: Content, lang: str, tally: Tally) -> str:
    return " · ".join(
        content.t("admin.step_count", lang, step=step, count=tally.by_step.get(step, 0))
        for step in STEPS
    )


def _tally_line(content: Content, lang: str, name: str, tally: Tally) -> str:
    return content.t(
        "admin.tally_line",
        lang,
        name=name,
        enrolled=enrolled_text(content, lang, tally),
        completed=tally.completed,
        in_progress=tally.in_progress,
        percent=tally.percent_completed,
    )


def _growth_lines(content: Content, lang: str, figures: AgencySummary) -> str:
    lines = []
    for skill in figures.skills:
        if not skill.paired:
            continue
        lines.append(
            content.t(
                "admin.growth_line",
                lang,
                skill=content.skill(skill.skill_id).short.get(lang),
                pre=f"{skill.paired_pre:.1f}",
                post=f"{skill.paired_post:.1f}",
                growth=f"{skill.growth:+.1f}",
                count=skill.paired,
            )
        )
    return "\n".join(lines) if lines else content.t("admin.growth_none", lang)


def summary_text(
    content: Content, lang: str, agency: Agency, figures: AgencySummary, day: date
) -> str:
    """The whole summary as one plain-text message (nudged vs hold-out at the end)."""
    total = figures.total
    units = [
        _tally_line(content, lang, unit_label(content, lang, name), tally)
        for name, tally in figures.by_unit.items()
    ]
    groups = [
        _tally_line(content, lang, group_label(content, lang, gid), tally)
        for gid, tally in figures.by_group.items()
        if tally.enrolled or tally.headcount
    ]
    text = content.t(
        "admin.summary",
        lang,
        agency=agency.name,
        fiscal_year=fiscal_year_label(content, lang, figures.year),
        date=date_text(content, lang, day),
        enrolled=enrolled_text(content, lang, total),
        completed=total.completed,
        percent=total.percent_completed,
        steps=_steps_line(content, lang, total),
        units="\n".join(units) or content.t("admin.nobody", lang),
        groups="\n".join(groups) or content.t("admin.nobody", lang),
        growth=_growth_lines(content, lang, figures),
        disclaimer=content.skills_file.disclaimer.get(lang),
    )
    if figures.arms is None:
        return text
    return f"{text}\n\n{arms_text(content, lang, figures.arms)}"


def summary_card(content: Content, lang: str, agency: Agency, figures: AgencySummary) -> Card:
    """Enrolment and steps as bars (for platforms that draw cards)."""
    total = figures.total
    top = max(total.enrolled, 1)
    rows = [
        CardRow(
            content.t("admin.card_step", lang, step=step),
            str(total.by_step.get(step, 0)),
            total.by_step.get(step, 0) / top,
        )
        for step in STEPS
    ]
    rows.append(
        CardRow(
            content.t("admin.card_completed", lang), str(total.completed), total.completed / top
        )
    )
    return Card(
        title=content.t("admin.card_title", lang, agency=agency.name),
        rows=tuple(rows),
        footer=content.t(
            "admin.card_footer",
            lang,
            enrolled=total.enrolled,
            completed=total.completed,
            percent=total.percent_completed,
        ),
    )


def agency_charts(content: Content, lang: str, figures: AgencySummary) -> list[Render]:
    """Charts, drawn at delivery: people per step, and (once anyone re-rated)
    before and after per skill."""
    total = figures.total
    categories = [content.t("admin.card_step", lang, step=step) for step in STEPS]
    categories.append(content.t("admin.card_completed", lang))
    counts = [float(total.by_step.get(step, 0)) for step in STEPS] + [float(total.completed)]
    charts = [
        Render(
            "bar",
            {
                "categories": categories,
                "series": {content.t("admin.chart_people", lang): counts},
                "title": content.t("admin.chart_steps_title", lang),
                "y_label": content.t("admin.chart_people", lang),
            },
        )
    ]
    paired = [s for s in figures.skills if s.paired]
    if paired:
        charts.append(
            Render(
                "bar",
                {
                    "categories": [content.skill(s.skill_id).short.get(lang) for s in paired],
                    "series": {
                        content.t("chart.pre", lang): [round(s.paired_pre or 0, 2) for s in paired],
                        content.t("chart.post", lang): [
                            round(s.paired_post or 0, 2) for s in paired
                        ],
                    },
                    "title": content.t("admin.chart_growth_title", lang),
                    "y_label": content.t("chart.level_axis", lang),
                },
            )
        )
    return charts


def summary_replies(
    content: Content,
    lang: str,
    agency: Agency,
    figures: AgencySummary,
    day: date,
    *,
    heading: str = "",
    pushes: Sequence[PushMonth] = (),
) -> list[Reply]:
    """The summary message (with its card) followed by its charts; `pushes`: the
    month's pushes on the platforms with a quota that the agency's people use."""
    text = summary_text(content, lang, agency, figures, day)
    card = summary_card(content, lang, agency, figures)
    if pushes:
        text += "\n\n" + pushes_text(content, lang, pushes)
        card = replace(card, rows=card.rows + tuple(pushes_rows(content, lang, pushes)))
    replies = [Reply(text=f"{heading}\n{text}" if heading else text, card=card)]
    for chart in agency_charts(content, lang, figures):
        replies.append(Reply(text=content.t("admin.chart_caption", lang), render=chart))
    return replies
