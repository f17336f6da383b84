"""Nudged vs hold-out: the arithmetic (Newcombe's interval, medians, the "too small
to tell" rule) and where it shows: /summary and the XLSX report."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from documents.xlsx import workbook
from handlers.reports.arms import (
    HIGHER,
    MIN_PEOPLE,
    TOO_SMALL,
    UNCLEAR,
    arms_text,
    compare,
    difference_interval,
    median,
)
from handlers.reports.summary import agency_summary, summary_text
from handlers.reports.workbook import report_sheets
from storage.arms import ArmCounts
from storage.db import transaction, writing
from storage.models import Agency
from tests.drivers.chat import t
from tests.drivers.seed import Seeded, add_person
from tests.drivers.working_group import FISCAL_YEAR, make_admin, make_agency


def arm(people: int, finished: list[int], days: dict[int, dict[float, int]] | None = None):
    return ArmCounts(people, dict(zip(range(1, 7), finished, strict=True)), days or {})


def test_newcombes_interval_matches_his_published_examples():
    # Newcombe (1998), Statistics in Medicine 17:873, method 10: 56/70 vs 48/80, 9/10 vs 3/10
    low, high = difference_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    low, high = difference_interval(9, 10, 3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1705, 0.8090)
    assert difference_interval(1, 10, 0, 0) is None


def test_median_of_a_histogram():
    assert median({}) is None
    assert median({3.0: 1}) == 3.0
    assert median({1.0: 1, 3.0: 1}) == 2.0
    assert median({9.0: 1, 1.0: 2}) == 1.0
    assert median({0.5: 2, 2.0: 2, 7.0: 1}) == 2.0


def test_each_step_is_read_by_whether_its_interval_includes_zero():
    nudged = arm(100, [60, 30, 20, 10, 5, 2], {1: {2.0: 30, 5.0: 30}})
    holdout = arm(30, [6, 9, 3, 3, 2, 0], {1: {4.0: 6}})
    result = compare(nudged, holdout, 10)
    assert not result.too_small
    one, two = result.steps[0], result.steps[1]
    assert one.verdict == HIGHER and one.low > 0 and one.difference == pytest.approx(0.4)
    assert two.verdict == UNCLEAR and one.low < one.difference < one.high
    assert two.low < 0 < two.high
    assert (one.nudged_days, one.holdout_days) == (3.5, 4.0)
    assert result.steps[5].holdout_share == 0 and result.steps[5].holdout_days is None


def test_fewer_than_the_minimum_in_either_arm_is_too_small_to_tell(content):
    small = compare(arm(200, [100] * 6), arm(MIN_PEOPLE - 1, [0] * 6), 10)
    assert small.too_small
    assert all(s.verdict == TOO_SMALL and s.low is None for s in small.steps)
    text = arms_text(content, "th", small)
    assert content.t("arms.too_small", "th", min=MIN_PEOPLE) in text
    assert "95% CI" not in text and "50% เทียบ 0%" in text
    enough = arms_text(content, "en", compare(arm(40, [20] * 6), arm(20, [2] * 6), 10))
    assert "Step 1: 50% vs 10% · +40 (95% CI +" in enough
    assert content.t("arms.how_to_read", "en", min=MIN_PEOPLE) in enough
    off = compare(arm(40, [20] * 6), arm(0, [0] * 6), 0)
    assert arms_text(content, "th", off) == content.t("arms.off", "th")


async def _arms_agency(app) -> Agency:
    """ARM: 30 nudged people (half finished step 1 in 2 days) and 20 held out (a
    quarter finished it, in 6 days), onboarded in the fiscal year."""
    agency_id = await make_agency(app, "ARM", "กรมทดลอง", [])
    now = app.clock.now()
    async with transaction(app.sessions) as session:
        for n in range(50):
            holdout = n >= 30
            moved = (n < 15) if not holdout else (n < 35)
            took = 6 if holdout else 2
            started = now - timedelta(days=10)
            await add_person(
                session,
                Seeded(
                    name=f"คน{n}",
                    agency_id=agency_id,
                    joined_at=started,
                    last_active_at=now,
                    step=2 if moved else 1,
                    step_started_at=started + timedelta(days=took) if moved else started,
                    started_at=started,
                    holdout=holdout,
                ),
            )
        return (await session.exec(select(Agency).where(Agency.id == agency_id))).one()


async def test_summary_and_workbook_show_both_arms(app):
    agency = await _arms_agency(app)
    rows, figures = await agency_summary(
        app.read_sessions, writing(app.sessions), app.content, agency, FISCAL_YEAR
    )
    assert figures.arms is not None
    assert (figures.arms.nudged_people, figures.arms.holdout_people) == (30, 20)
    step1 = figures.arms.steps[0]
    assert (step1.nudged, step1.holdout) == (15, 5)
    assert (step1.nudged_days, step1.holdout_days) == (2.0, 6.0)
    text = summary_text(app.content, "th", agency, figures, date(2026, 11, 23))
    assert "ได้รับการกระตุ้น 30 คน · กลุ่มเปรียบเทียบ 20 คน" in text
    assert "ขั้น 1: 50% เทียบ 25% · +25 (95% CI " in text
    assert "2.0 / 6.0 วัน" in text

    sheets = report_sheets(app.content, "th", agency, rows, figures, date(2026, 11, 23))
    book = load_workbook(io.BytesIO(workbook(sheets)))
    sheet = book[t(app, "arms.sheet")]
    header = next(r for r in range(1, 12) if sheet.cell(r, 1).value == t(app, "arms.col_step"))
    first = [c.value for c in sheet[header + 1]]
    assert first[:8] == [t(app, "report.col_step", step=1), 30, 15, 50.0, 20, 5, 25.0, 25.0]
    low, high = difference_interval(15, 30, 5, 20)
    assert first[8:12] == [round(100 * low, 1), round(100 * high, 1), 2.0, 6.0]
    assert first[12] == t(app, f"arms.verdict_{step1.verdict}")
    assert sheet.max_row == header + 6


async def test_summary_in_chat_says_when_the_groups_are_too_small(app, channel):
    head = await make_admin(app, channel, "head")
    replies = await head.say("/summary")
    assert t(app, "arms.too_small", min=MIN_PEOPLE) in replies[0].text
