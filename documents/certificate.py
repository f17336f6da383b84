"""An A4 landscape certificate of completing the self-development journey (PDF).

Laid out with fpdf2 in Sarabun Regular and Bold. Every text is a parameter:
the wording lives in the content files.

Thai needs text shaping: without it a tone mark that follows an upper vowel
is drawn on top of the vowel, and marks over tall consonants are not moved
aside. Two ways are used, both offline:

- when the `uharfbuzz` package is installed, fpdf2 shapes the text itself;
- otherwise each line with Thai in it is shaped by matplotlib's bundled text
  layout (HarfBuzz through libraqm) and drawn as Sarabun's glyph outlines, with
  the same text written invisibly at the same place in the embedded Sarabun
  font, so the PDF stays searchable and its text can be selected and copied.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Literal

from fpdf import FPDF
from fpdf.drawing import PaintedPath
from fpdf.enums import TextMode

from documents.fonts import MATPLOTLIB_LOCK, sarabun

FONT = "Sarabun"
PAGE_W, PAGE_H = 297.0, 210.0  # A4 landscape, mm
NAVY = (22, 58, 94)
GOLD = (184, 142, 52)
INK = (35, 49, 63)
GREY = (105, 117, 130)
PT = 25.4 / 72  # one typographic point in mm
LINE = 1.45  # line height as a multiple of the font size
Colour = tuple[int, int, int]


def text_shaping_available() -> bool:
    """Whether fpdf2 can shape text itself (it needs the `uharfbuzz` package)."""
    return importlib.util.find_spec("uharfbuzz") is not None


def _is_thai(text: str) -> bool:
    return any("\u0e00" <= ch <= "\u0e7f" for ch in text)


def _diamond(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]


def _skill_columns(count: int) -> int:
    """One column for up to 3 skills, two for up to 6, three beyond."""
    return min(3, max(1, (count + 2) // 3))


class _Page:
    """One landscape A4 page with Sarabun loaded, and the drawing helpers."""

    def __init__(self) -> None:
        self.fonts = sarabun()
        pdf = FPDF(orientation="landscape", unit="mm", format="A4")
        pdf.set_auto_page_break(False)
        pdf.set_margin(0)
        pdf.add_font(FONT, "", str(self.fonts.regular))
        pdf.add_font(FONT, "B", str(self.fonts.bold))
        self.shaping = text_shaping_available()
        if self.shaping:
            pdf.set_text_shaping(True)
        pdf.add_page()
        self.pdf = pdf

    def width_of(self, text: str, size: float, *, bold: bool = False) -> float:
        self.pdf.set_font(FONT, "B" if bold else "", size)
        return self.pdf.get_string_width(text)

    def line(
        self,
        text: str,
        y: float,
        size: float,
        *,
        x: float = 0,
        width: float = PAGE_W,
        align: Literal["C", "L"] = "C",
        bold: bool = False,
        colour: Colour = INK,
        shrink: bool = True,
    ) -> float:
        """Write one line in [x, x + width] with its top at `y` and return the next y.

        With `shrink`, a line too long for the width is set smaller to fit.
        """
        pdf = self.pdf
        if shrink:
            natural = self.width_of(text, size, bold=bold)
            room = width - 2 * pdf.c_margin
            if natural > room:
                size *= room / natural
        pdf.set_font(FONT, "B" if bold else "", size)
        pdf.set_text_color(*colour)
        height = size * PT * LINE
        pdf.set_xy(x, y)
        if self.shaping or not _is_thai(text):
            pdf.cell(width, height, text, align=align)
            return y + height
        baseline = y + 0.5 * height + 0.3 * size * PT  # where fpdf2's cell puts it
        self._outlines(text, x, width, align, baseline, size, bold=bold, colour=colour)
        pdf.text_mode = TextMode.INVISIBLE
        pdf.cell(width, height, text, align=align)
        pdf.text_mode = TextMode.FILL
        return y + height

    def _outlines(
        self,
        text: str,
        x: float,
        width: float,
        align: str,
        baseline: float,
        size: float,
        *,
        bold: bool,
        colour: Colour,
    ) -> None:
        """Draw `text`, shaped, as filled glyph outlines placed as fpdf2 places a cell."""
        from matplotlib.font_manager import FontProperties
        from matplotlib.path import Path as MplPath
        from matplotlib.textpath import text_to_path

        prop = FontProperties(fname=str(self.fonts.bold if bold else self.fonts.regular))
        prop.set_size(size)
        with MATPLOTLIB_LOCK:
            vertices, codes = text_to_path.get_text_path(prop, text, ismath=False)
            advance, _, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
        scale = size / text_to_path.FONT_SCALE * PT  # path units -> mm
        centred = align == "C"
        left = x + (width - advance * PT) / 2 if centred else x + self.pdf.c_margin

        def at(index: int) -> tuple[float, float]:
            vx, vy = vertices[index]
            return left + vx * scale, baseline - vy * scale

        path = PaintedPath()
        path.style.fill_color = "#{:02x}{:02x}{:02x}".format(*colour)
        path.style.stroke_color = None
        path.style.paint_rule = "FILL_NONZERO"
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == MplPath.MOVETO:
                path.move_to(*at(i))
                i += 1
            elif code == MplPath.LINETO:
                path.line_to(*at(i))
                i += 1
            elif code == MplPath.CURVE3:
                path.quadratic_curve_to(*at(i), *at(i + 1))
                i += 2
            elif code == MplPath.CURVE4:
                path.curve_to(*at(i), *at(i + 1), *at(i + 2))
                i += 3
            else:  # CLOSEPOLY (its vertex is ignored) or STOP
                path.close()
                i += 1
        # The path is new and never changed after this: no need for fpdf2 to copy it.
        self.pdf.draw_path(path, copy=False)

    def border(self) -> None:
        pdf = self.pdf
        pdf.set_draw_color(*NAVY)
        pdf.set_line_width(1.6)
        pdf.rect(8, 8, PAGE_W - 16, PAGE_H - 16)
        pdf.set_draw_color(*GOLD)
        pdf.set_line_width(0.5)
        pdf.rect(12, 12, PAGE_W - 24, PAGE_H - 24)
        pdf.set_line_width(0.25)
        pdf.rect(14, 14, PAGE_W - 28, PAGE_H - 28)
        # A gold diamond with a navy heart over each corner of the frame.
        for cx, cy in ((13, 13), (PAGE_W - 13, 13), (13, PAGE_H - 13), (PAGE_W - 13, PAGE_H - 13)):
            pdf.set_fill_color(*GOLD)
            pdf.polygon(_diamond(cx, cy, 5.5), style="F")
            pdf.set_fill_color(*NAVY)
            pdf.polygon(_diamond(cx, cy, 2.4), style="F")

    def rule(self, y: float, width: float, colour: Colour = GOLD) -> None:
        """A centred horizontal rule with a small diamond in its middle."""
        pdf = self.pdf
        pdf.set_draw_color(*colour)
        pdf.set_line_width(0.6)
        left = (PAGE_W - width) / 2
        pdf.line(left, y, left + width, y)
        pdf.set_fill_color(*colour)
        pdf.polygon(_diamond(PAGE_W / 2, y, 1.8), style="F")

    def skills(self, skills: Sequence[str], y: float, size: float) -> float:
        """The skills as bulleted lists in up to three columns; return the next y.

        Each column is left-aligned and centred in its share of the width.
        """
        columns = _skill_columns(len(skills))
        rows = -(-len(skills) // columns)
        area = min(255.0, 95.0 * columns)
        column_width = area / columns
        items = [f"\u2022  {skill}" for skill in skills]
        widest = max(self.width_of(item, size) for item in items)
        room = column_width - 6
        if widest > room:
            size *= room / widest
            widest = room
        height = size * PT * LINE
        for index, item in enumerate(items):
            row, column = index % rows, index // rows
            column_items = items[column * rows : (column + 1) * rows]
            column_widest = max(self.width_of(i, size) for i in column_items)
            centre = (PAGE_W - area) / 2 + column_width * (column + 0.5)
            left = centre - column_widest / 2 - self.pdf.c_margin
            self.line(
                item,
                y + row * height,
                size,
                x=left,
                width=column_widest + 2 * self.pdf.c_margin,
                align="L",
                shrink=False,
            )
        return y + rows * height


def certificate_pdf(
    *,
    title: str,
    body_lines: list[str],
    name: str,
    agency: str,
    date_text: str,
    skills: list[str],
    footer: str,
    skills_heading: str = "",
) -> bytes:
    """One A4 landscape page: the certificate for `name`, as PDF bytes.

    From top to bottom: `title`; the first of `body_lines` (e.g. "This certifies
    that"); `name`, large and bold; `agency`; the other `body_lines`; the
    optional `skills_heading` over the `skills` developed (in up to three
    columns); `date_text`; and `footer`, small, at the bottom. A line too long
    for the page is set smaller so that it always fits inside the frame.
    """
    page = _Page()
    pdf = page.pdf
    pdf.set_title(title)
    pdf.set_subject(name)
    pdf.set_creator("dlcoach")
    pdf.set_lang("th" if _is_thai(title + name + agency) else "en")
    page.border()

    y_title = page.line(title, 20, 40, bold=True, colour=NAVY, x=20, width=PAGE_W - 40)
    page.rule(y_title + 2, 110)

    first, rest = (body_lines[0], body_lines[1:]) if body_lines else ("", [])
    skill_size = 15.0 if len(skills) <= 6 else 14.0
    skill_rows = -(-len(skills) // _skill_columns(len(skills))) if skills else 0
    # The height of everything between the rule and the date, to centre it there.
    points = (
        (18 if first else 0)
        + 36
        + (18 if agency else 0)
        + 16 * len(rest)
        + (15 if skills and skills_heading else 0)
        + skill_size * skill_rows
    )
    gaps = 4 + (6 if skills else 0)
    top, bottom = y_title + 8, PAGE_H - 45
    y = top + max(0.0, (bottom - top - points * PT * LINE - gaps) / 2)

    inner = {"x": 20.0, "width": PAGE_W - 40}
    if first:
        y = page.line(first, y, 18, colour=GREY, **inner)
    y = page.line(name, y, 36, bold=True, colour=NAVY, **inner)
    if agency:
        y = page.line(agency, y, 18, **inner)
    y += 4
    for text in rest:
        y = page.line(text, y, 16, **inner)
    if skills:
        y += 6
        if skills_heading:
            y = page.line(skills_heading, y, 15, bold=True, colour=NAVY, **inner)
        page.skills(skills, y, skill_size)

    y_date = PAGE_H - 43
    pdf.set_draw_color(*GREY)
    pdf.set_line_width(0.3)
    pdf.line(PAGE_W / 2 - 45, y_date, PAGE_W / 2 + 45, y_date)
    page.line(date_text, y_date + 1, 16, **inner)
    page.line(footer, PAGE_H - 27, 11, colour=GREY, x=22, width=PAGE_W - 44)
    return bytes(pdf.output())
