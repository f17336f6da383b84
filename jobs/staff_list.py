"""An agency's staff list and headcount: who the development is for.

The working group imports its staff list (XLSX or CSV: a unit, a personnel
group and, optionally, a staff code per line, under headings in Thai or
English, see `staff_list.*` in content/messages/admin.yaml), or enters headcounts by hand.
Reports then show enrolment against the headcount, and, where the list has
staff codes, who has not joined yet (a person links their line by typing their
staff code when they join).

Importing replaces the list and the headcounts in one transaction; a line
whose staff code was already linked to a person keeps that link. A file with
a problem changes nothing and the error names the line.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from content.loader import Content
from storage.codes import normalise_code
from storage.models import Agency, Headcount, StaffMember, Unit


class StaffListError(ValueError):
    """The file cannot be read as a staff list; the message names the line and what is wrong."""


@dataclass(frozen=True)
class StaffLine:
    unit: str | None
    group: str | None  # a personnel group id
    staff_code: str | None


def _cells(path: Path) -> list[list[str]]:
    """Every row of the file's first sheet (or of the CSV) as text."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = [
            ["" if v is None else str(v).strip() for v in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        book.close()
        return rows
    text = path.read_bytes().decode("utf-8-sig")
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def group_id(content: Content, value: str) -> str | None:
    """A personnel group written as its id (g3), its number (3, or "group 3" in Thai) or its label."""
    if not value:
        return None
    wanted = value.strip().casefold()
    digits = "".join(ch for ch in wanted if ch.isdigit())
    for group in content.groups.personnel_groups:
        labels = {group.id.casefold(), group.label.th.casefold(), group.label.en.casefold()}
        if wanted in labels or (digits and group.id == f"g{digits}"):
            return group.id
    raise ValueError(value)


def read_staff_list(path: Path, content: Content) -> list[StaffLine]:
    """The lines of a staff list file; raises StaffListError naming the bad line."""
    try:
        rows = [row for row in _cells(path) if any(row)]
    except (OSError, ValueError, KeyError) as exc:
        raise StaffListError(f"{path}: cannot be read as XLSX or CSV: {exc}") from exc
    if not rows:
        raise StaffListError(f"{path}: the file is empty")
    heads = [cell.casefold() for cell in rows[0]]

    def column(key: str) -> int | None:
        """The column whose heading is one of `staff_list.<key>` (either language)."""
        names = {
            name.strip().casefold()
            for lang in ("th", "en")
            for name in content.t(f"staff_list.{key}", lang).split(",")
        }
        return next((i for i, head in enumerate(heads) if head in names), None)

    unit_at, group_at, code_at = column("unit"), column("group"), column("code")
    if unit_at is None and group_at is None:
        raise StaffListError(f"{path}: line 1 needs the headings unit and group")
    lines, codes = [], set()
    for number, row in enumerate(rows[1:], start=2):

        def cell(index: int | None, row: list[str] = row) -> str:
            return row[index].strip() if index is not None and index < len(row) else ""

        try:
            group = group_id(content, cell(group_at))
        except ValueError:
            raise StaffListError(
                f"{path}: line {number}: unknown personnel group {cell(group_at)!r}"
            ) from None
        code = normalise_code(cell(code_at)) or None
        if code is not None:
            if code in codes:
                raise StaffListError(f"{path}: line {number}: staff code {cell(code_at)!r} twice")
            codes.add(code)
        lines.append(StaffLine(cell(unit_at) or None, group, code))
    return lines


async def import_staff_list(session: AsyncSession, agency: Agency, lines: list[StaffLine]) -> int:
    """Replace the agency's staff list and headcounts with `lines`; returns how many lines."""
    lines = [
        replace(line, staff_code=normalise_code(line.staff_code or "") or None) for line in lines
    ]
    units = await ensure_units(session, agency, {line.unit for line in lines if line.unit})
    linked = {
        member.staff_code: member.person_id
        for member in (
            await session.exec(select(StaffMember).where(StaffMember.agency_id == agency.id))
        ).all()
        if member.staff_code and member.person_id
    }
    await session.exec(delete(StaffMember).where(StaffMember.agency_id == agency.id))
    for line in lines:
        session.add(
            StaffMember(
                agency_id=agency.id,  # type: ignore[arg-type]
                unit_id=units[line.unit] if line.unit else None,
                personnel_group=line.group,
                staff_code=line.staff_code,
                person_id=linked.get(line.staff_code) if line.staff_code else None,
            )
        )
    cells = Counter((units[line.unit] if line.unit else None, line.group) for line in lines)
    await session.exec(delete(Headcount).where(Headcount.agency_id == agency.id))
    for (unit_id, group), count in cells.items():
        session.add(
            Headcount(agency_id=agency.id, unit_id=unit_id, personnel_group=group, count=count)  # type: ignore[arg-type]
        )
    await session.flush()
    return len(lines)


async def set_headcount(
    session: AsyncSession, agency: Agency, unit: str | None, group: str | None, count: int
) -> None:
    """Record how many staff one unit and personnel group has (by hand)."""
    units = await ensure_units(session, agency, {unit} if unit else set())
    unit_id = units[unit] if unit else None
    found = (
        await session.exec(
            select(Headcount).where(
                Headcount.agency_id == agency.id,
                Headcount.unit_id == unit_id,
                Headcount.personnel_group == group,
            )
        )
    ).first()
    cell = found or Headcount(agency_id=agency.id, unit_id=unit_id, personnel_group=group, count=0)  # type: ignore[arg-type]
    cell.count = count
    session.add(cell)
    await session.flush()


async def ensure_units(session: AsyncSession, agency: Agency, names: set[str]) -> dict[str, int]:
    """name -> unit id for `names`, creating the units the agency does not have yet."""
    existing = {
        u.name: u.id
        for u in (await session.exec(select(Unit).where(Unit.agency_id == agency.id))).all()
    }
    for name in sorted(names - set(existing)):
        unit = Unit(agency_id=agency.id, name=name)  # type: ignore[arg-type]
        session.add(unit)
        await session.flush()
        existing[name] = unit.id  # type: ignore[assignment]
    return {name: existing[name] for name in names}  # type: ignore[misc]
