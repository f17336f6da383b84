"""Nudged vs hold-out: do the extra nudges help this agency's people finish the steps?

For each of the six steps: the share of each arm whose first round finished it,
the difference (nudged minus hold-out) with its 95 % confidence interval
(Newcombe's hybrid score interval, from statsmodels), and the median days the
step took in each arm. The counts come from the database (storage.facts); this
module only does the arithmetic and the words.

The rule for "too small to tell", stated in the text too: fewer than
`MIN_PEOPLE` people in either arm. Then no interval is shown, only the counts.
Otherwise a step whose interval lies wholly above (or below) zero shows a clear
difference, and one whose interval includes zero does not (yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from content.loader import Content
from storage.arms import STEPS, ArmCounts

MIN_PEOPLE = 20  # fewer in either arm: too small to tell
TOO_SMALL, HIGHER, LOWER, UNCLEAR = "too_small", "higher", "lower", "unclear"


def median(histogram: dict[float, int]) -> float | None:
    """The median of values given as {value: how many}; None when there are none."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    ordered = sorted((value, n) for value, n in histogram.items() if n > 0)

    def at(rank: int) -> float:  # the value at 0-based position `rank`
        seen = 0
        for value, n in ordered:
            seen += n
            if rank < seen:
                return value
        return ordered[-1][0]

    if total % 2:
        return at(total // 2)
    return (at(total // 2 - 1) + at(total // 2)) / 2


def difference_interval(
    count1: int, nobs1: int, count2: int, nobs2: int
) -> tuple[float, float] | None:
    """The 95 % interval of count1/nobs1 - count2/nobs2 (Newcombe); None without people."""
    if nobs1 <= 0 or nobs2 <= 0:
        return None
    # statsmodels takes a second to import: only when an interval is wanted.
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(
        count1, nobs1, count2, nobs2, method="newcomb", compare="diff", alpha=0.05
    )
    return float(low), float(high)


@dataclass(frozen=True)
class StepArms:
    """One step in both arms."""

    step: int
    nudged: int  # people whose first round finished the step
    holdout: int
    nudged_share: float | None  # None: the arm has nobody
    holdout_share: float | None
    low: float | None  # the 95 % interval of the difference (None: too small)
    high: float | None
    nudged_days: float | None  # median days the step took (None: nobody finished it)
    holdout_days: float | None
    verdict: str

    @property
    def difference(self) -> float | None:
        if self.nudged_share is None or self.holdout_share is None:
            return None
        return self.nudged_share - self.holdout_share


@dataclass(frozen=True)
class ArmComparison:
    """The whole comparison of one agency."""

    percent: int  # the agency's hold-out share now, for the text
    nudged_people: int
    holdout_people: int
    steps: tuple[StepArms, ...]

    @property
    def too_small(self) -> bool:
        return min(self.nudged_people, self.holdout_people) < MIN_PEOPLE

    @property
    def off(self) -> bool:
        """No hold-out group at all: none kept, and none kept before."""
        return self.percent == 0 and self.holdout_people == 0


def _share(count: int, people: int) -> float | None:
    return count / people if people else None


def compare(nudged: ArmCounts, holdout: ArmCounts, percent: int) -> ArmComparison:
    """The comparison from the two arms' counts."""
    too_small = min(nudged.people, holdout.people) < MIN_PEOPLE
    steps = []
    for step in STEPS:
        a, b = nudged.finished.get(step, 0), holdout.finished.get(step, 0)
        interval = None if too_small else difference_interval(a, nudged.people, b, holdout.people)
        if interval is None:
            verdict = TOO_SMALL
        elif interval[0] > 0:
            verdict = HIGHER
        elif interval[1] < 0:
            verdict = LOWER
        else:
            verdict = UNCLEAR
        steps.append(
            StepArms(
                step=step,
                nudged=a,
                holdout=b,
                nudged_share=_share(a, nudged.people),
                holdout_share=_share(b, holdout.people),
                low=interval[0] if interval else None,
                high=interval[1] if interval else None,
                nudged_days=median(nudged.days.get(step, {})),
                holdout_days=median(holdout.days.get(step, {})),
                verdict=verdict,
            )
        )
    return ArmComparison(percent, nudged.people, holdout.people, tuple(steps))


# ---- words --------------------------------------------------------------------------------


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{round(100 * share)}%"


def _points(value: float | None) -> str:
    """A difference of proportions in percentage points, signed: +12, −3, 0."""
    if value is None:
        return "–"
    points = round(100 * value)
    return f"+{points}" if points > 0 else ("0" if points == 0 else f"−{-points}")


def _days(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _step_line(content: Content, lang: str, item: StepArms, too_small: bool) -> str:
    values = {
        "step": item.step,
        "nudged": _percent(item.nudged_share),
        "holdout": _percent(item.holdout_share),
        "difference": _points(item.difference),
        "low": _points(item.low),
        "high": _points(item.high),
        "nudged_days": _days(item.nudged_days),
        "holdout_days": _days(item.holdout_days),
        "mark": content.t(f"arms.mark_{item.verdict}", lang),
    }
    key = "arms.step_line_small" if too_small else "arms.step_line"
    return content.t(key, lang, **values)


def arms_text(content: Content, lang: str, comparison: ArmComparison) -> str:
    """The comparison as a block of the summary text."""
    if comparison.off:
        return content.t("arms.off", lang)
    too_small = comparison.too_small
    lines = "\n".join(_step_line(content, lang, s, too_small) for s in comparison.steps)
    verdict = content.t("arms.too_small" if too_small else "arms.how_to_read", lang, min=MIN_PEOPLE)
    return content.t(
        "arms.block",
        lang,
        percent=comparison.percent,
        nudged=comparison.nudged_people,
        holdout=comparison.holdout_people,
        lines=lines,
        verdict=verdict,
    )


def arms_sheet(
    content: Content, lang: str, comparison: ArmComparison, intro: list[list[Any]]
) -> dict[str, Any]:
    """The comparison as a sheet of the XLSX report (plain data for documents.xlsx)."""

    def t(key: str, **values: object) -> str:
        return content.t(key, lang, **values)

    def pct(share: float | None) -> float | None:
        return None if share is None else round(100 * share, 1)

    rows = [
        [
            t("report.col_step", step=item.step),
            comparison.nudged_people,
            item.nudged,
            pct(item.nudged_share),
            comparison.holdout_people,
            item.holdout,
            pct(item.holdout_share),
            pct(item.difference),
            pct(item.low),
            pct(item.high),
            None if item.nudged_days is None else round(item.nudged_days, 1),
            None if item.holdout_days is None else round(item.holdout_days, 1),
            t(f"arms.verdict_{item.verdict}"),
        ]
        for item in comparison.steps
    ]
    rule = t("arms.too_small" if comparison.too_small else "arms.how_to_read", min=MIN_PEOPLE)
    return {
        "title": t("arms.sheet"),
        "intro": [
            *intro,
            [t("arms.sheet_note", percent=comparison.percent), 12, False],
            [rule, 12, False],
        ],
        "header": [
            t("arms.col_step"),
            t("arms.col_nudged_people"),
            t("arms.col_nudged_finished"),
            t("arms.col_nudged_percent"),
            t("arms.col_holdout_people"),
            t("arms.col_holdout_finished"),
            t("arms.col_holdout_percent"),
            t("arms.col_difference"),
            t("arms.col_low"),
            t("arms.col_high"),
            t("arms.col_nudged_days"),
            t("arms.col_holdout_days"),
            t("arms.col_verdict"),
        ],
        "rows": rows,
        "widths": [12, 14, 14, 14, 14, 14, 14, 16, 14, 14, 16, 16, 30],
        "freeze_columns": 1,
    }
