"""The whole journey through `dlcoach chat` as a subprocess with piped stdin,
in Thai and in English, then the CSV report read back."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from content.loader import load_content
from tests.drivers.journey import STEP1_SCREENS

CONTENT = load_content()
PRE = [2, 3, 2, 1, 4, 3, 2, 2, 1]
POST = [3, 3, 3, 3, 4, 3, 3, 2, 2]


def t(key: str, lang: str, **values: object) -> str:
    return CONTENT.t(key, lang, **values)


def level(n: int, lang: str) -> str:
    return f"{n} {CONTENT.scale_label(n, lang)}"


def skill(skill_id: str, lang: str) -> str:
    return CONTENT.skill(skill_id).short.get(lang)


def script(lang: str, name: str) -> list[str]:
    """What a person types: button labels (the console accepts labels) and free text."""
    group = CONTENT.group("g4").button(lang)
    approach = CONTENT.approach("coaching").label.get(lang)
    lines = [
        t("consent.accept", lang),
        name,
        "DEMO",
        t("onboard.unit_none", lang),
        group,
        "08:15",
        *[t("common.next", lang)] * STEP1_SCREENS,
        "ช่วยให้ทำงานเร็วขึ้น" if lang == "th" else "It saves me time",
        t("s2.start", lang),
        *[level(n, lang) for n in PRE],
        t("common.next", lang),
        skill("sheet", lang),
        t("s3.done_picking", lang),
        level(5, lang),
        t("s3.date_3m", lang),
        approach,
        "เมื่อต้องสรุปยอดประจำเดือน ฉันจะลองใช้ PivotTable"
        if lang == "th"
        else "When I close the monthly figures, I will try a PivotTable",
        t("s4.log", lang),
        "คลิปสอน PivotTable" if lang == "th" else "A PivotTable video",
        "40",
        "สรุปยอดได้ในไม่กี่คลิก" if lang == "th" else "Summaries in a few clicks",
        t("s4.log", lang),
        "ฝึกสูตร SUMIFS" if lang == "th" else "Practised SUMIFS",
        t("s4.minutes_30", lang),
        "รวมยอดตามเงื่อนไขได้" if lang == "th" else "Conditional totals",
        t("s4.finish", lang),
        t("s5.log", lang),
        "รายงานงบประมาณ" if lang == "th" else "Budget report",
        "Excel",
        CONTENT.outcome("faster").label.get(lang),
        t("s5.finish", lang),
        t("s2.start", lang),
        *[level(n, lang) for n in POST],
        t("common.next", lang),
        "ฝึกวันละนิดได้ผลจริง" if lang == "th" else "A little every day works",
        "ใช้ PivotTable แทนการนับมือ" if lang == "th" else "Use a PivotTable instead of counting",
        "/progress",
    ]
    return lines


def run_chat(workdir: Path, user: str, lang: str, lines: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'coach.db'}"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--user", user, "--lang", lang],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("lang,name", [("th", "สมหญิง รักงาน"), ("en", "Anna")])
def test_whole_journey_in_the_terminal_then_csv(tmp_path, lang, name):
    result = run_chat(tmp_path, f"user-{lang}", lang, script(lang, name))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert t("s6.complete", lang, name=name, round=1) in out
    assert "[1] " + t("done.new_round", lang) in out
    assert t("common.pick_one", lang) not in out  # every typed label was understood
    assert "100%" in out

    report = tmp_path / "report.csv"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'coach.db'}"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "report",
            "--format",
            "csv",
            "--out",
            str(report),
            "--agency",
            "DEMO",
            "--with-names",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with report.open(encoding="utf-8-sig") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["name"] == name
    assert row["unit"] == ""
    assert row["personnel_group"] == "g4"
    assert row["completed_round"] == "1" and row["current_round"] == row["current_step"] == ""
    skills = [s.id for s in CONTENT.skills]
    assert [int(row[f"pre_{s}"]) for s in skills] == PRE
    assert [int(row[f"post_{s}"]) for s in skills] == POST
    assert row["learning_entries"] == "2" and row["evidence_entries"] == "1"
    assert row["learning_minutes"] == "70"  # 40 typed, 30 tapped
    assert row["completed_date"] != "" and row["started_date"] == ""  # no round under way


def test_resume_after_restart_and_eof_is_clean(tmp_path):
    lines = script("th", "ต่อ")
    first = run_chat(tmp_path, "resumer", "th", lines[: 12 + STEP1_SCREENS])  # mid-assessment
    assert first.returncode == 0, first.stderr
    assert "ทักษะที่ 5/9" in first.stdout.splitlines()[-7] or "ทักษะที่ 5/9" in first.stdout
    second = run_chat(tmp_path, "resumer", "th", [])
    assert second.returncode == 0, second.stderr
    assert t("welcome_back", "th", name="ต่อ") in second.stdout
    tail = second.stdout[second.stdout.rindex("ทักษะที่") :]
    assert tail.startswith("ทักษะที่ 5/9")


def test_numbers_pick_choices(tmp_path):
    result = run_chat(tmp_path, "numbers", "en", ["3", "1", "Ben"])
    assert result.returncode == 0, result.stderr
    notice_th = t("consent.notice", "th", version="พฤศจิกายน 2569")
    assert result.stdout.startswith(t("consent.notice", "en", version="November 2026"))
    assert notice_th in result.stdout  # [3] switched the notice to Thai
    assert t("onboard.ask_name", "th") in result.stdout  # [1] accepted it
    assert t("onboard.ask_agency", "th") in result.stdout  # and "Ben" was taken as the name


def test_typed_numbers_mean_the_level_they_name(tmp_path):
    """A label that starts with a number is printed under that number, so typing 3
    picks "3 ..." even where the list starts at level 2 (a step 3 target) or a
    "keep" button comes first (a new round's step 2)."""
    lines = script("th", "เลข")
    at_target = lines.index(skill("sheet", "th"))
    lines[at_target] = skill("word", "th")  # rated 1: the targets are levels 2 to 5
    lines[at_target + 2] = "3"
    lines += [
        t("done.new_round", "th"),
        "ทำงานเร็วขึ้น",  # a new round starts at the reason question
        t("s2.start", "th"),
        "5",  # a new first rating, typed
        *["6"] * 8,  # keep the others
    ]
    result = run_chat(tmp_path, "numbers-th", "th", lines)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] 2 พื้นฐาน" not in out and "[2] 2 พื้นฐาน" in out
    word = CONTENT.skill("word").name.get("th")
    assert f"• {word}: ระดับ 1 → 3 ภายใน" in out
    keep = t("assess.keep", "th", level=POST[0])
    assert f"[6] {keep}" in out and f"[1] {keep}" not in out
    assert f"[3] {level(3, 'th')}" in out
    result_text = out[out.rindex("📊") :]
    strongest = t(
        "assess.result_strongest", "th", skills=skill("computer", "th"), level=level(5, "th")
    )
    assert result_text.splitlines()[1] == strongest
