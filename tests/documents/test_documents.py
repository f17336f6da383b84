"""Charts, certificate and Thai dates (handlers/documents)."""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import yaml
from PIL import Image
from pypdf import PdfReader

from content.schema import MessagesFile
from documents import certificate as certificate_module
from documents import fonts
from documents.certificate import certificate_pdf
from documents.charts import bar_chart, radar_chart
from documents.thaidate import buddhist_year, format_date, format_month, month_names
from tests.drivers.paths import ROOT

DOCUMENTS_YAML = ROOT / "content" / "messages" / "documents.yaml"

SKILLS_TH = [
    "การใช้งานคอมพิวเตอร์",
    "การใช้อินเทอร์เน็ต",
    "ความปลอดภัย",
    "ประมวลผลคำ",
    "ตารางคำนวณ",
    "งานนำเสนอ",
    "ทำงานร่วมกันออนไลน์",
    "ข้อมูลและฐานข้อมูล",
    "สร้างเนื้อหาดิจิทัล",
]
# Tone marks over upper vowels, marks over tall consonants, ญ/ฐ with lower vowels.
HARD_THAI_NAME = "นางสาวปิ่นฟ้า ญาณฐิติกุล ศรีสุวรรณ์ที่นี้"


@pytest.fixture(scope="module")
def messages() -> dict:
    raw = yaml.safe_load(DOCUMENTS_YAML.read_text(encoding="utf-8"))
    return MessagesFile.model_validate(raw).messages


def t(messages: dict, key: str, lang: str = "th") -> str:
    return messages[key].get(lang)


# --- matplotlib output checks -------------------------------------------------


class _Captured:
    """Warnings and log records (matplotlib reports missing glyphs either way)."""

    def __init__(self, caught: list, caplog: pytest.LogCaptureFixture) -> None:
        self._caught = caught
        self._caplog = caplog

    @property
    def messages(self) -> list[str]:
        return [str(w.message) for w in self._caught] + [
            r.getMessage() for r in self._caplog.records
        ]


@pytest.fixture
def mpl_messages(caplog: pytest.LogCaptureFixture):
    """Everything said through warnings or logging while the test runs."""
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield _Captured(caught, caplog)


def missing_glyphs(messages: list[str]) -> list[str]:
    return [m for m in messages if "missing from font" in m or "Glyph" in m]


def image_of(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(png)).convert("RGB")


def assert_not_blank(img: Image.Image) -> None:
    colours = img.getcolors(maxcolors=img.width * img.height)
    assert colours is not None and len(colours) > 200, "too few colours: blank image?"
    white = next((n for n, c in colours if c == (255, 255, 255)), 0)
    assert white < 0.97 * img.width * img.height, "almost everything is white"


def test_capture_catches_missing_thai_glyphs(mpl_messages):
    """The check itself works: Thai in matplotlib's default font is reported missing."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 1))
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.5, "ทักษะ", family="DejaVu Sans")
    fig.savefig(io.BytesIO(), format="png")
    assert missing_glyphs(mpl_messages.messages)


# --- fonts ----------------------------------------------------------------------


def test_sarabun_files_are_found():
    found = fonts.sarabun()
    for path in (found.regular, found.bold):
        assert path.is_file()
        assert path.read_bytes()[:4] in (b"\x00\x01\x00\x00", b"true")
    assert found.regular.name == "Sarabun-Regular.ttf"
    assert found.bold.name == "Sarabun-Bold.ttf"


def test_missing_font_package_gives_a_clear_error(monkeypatch):
    def not_installed(name):
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(fonts.importlib.resources, "files", not_installed)
    fonts.sarabun.cache_clear()
    try:
        with pytest.raises(fonts.FontNotAvailable, match="fontpkg-sarabun"):
            fonts.sarabun()
    finally:
        monkeypatch.undo()
        fonts.sarabun.cache_clear()


# --- charts -----------------------------------------------------------------------


def test_radar_chart_thai(mpl_messages, messages):
    png = radar_chart(
        SKILLS_TH,
        [2, 3, 1, None, 2, 2, 3, 1, 2],
        [3, 4, 3, 2, 4, 3, 4, 2, 3],
        title=t(messages, "chart.radar_title"),
        pre_label=t(messages, "chart.pre"),
        post_label=t(messages, "chart.post"),
    )
    img = image_of(png)
    assert img.size == (800, 800)
    assert_not_blank(img)
    assert not missing_glyphs(mpl_messages.messages), mpl_messages.messages


@pytest.mark.parametrize("size", [333, 512, 1001])
def test_radar_chart_exact_size_without_post(size, mpl_messages, messages):
    png = radar_chart(
        ["Computer", "Internet", "Safety", "Words", "Sheets"],
        [1, 2, 3, 4, 5],
        None,
        title="Self-assessment",
        pre_label=t(messages, "chart.pre", "en"),
        post_label=t(messages, "chart.post", "en"),
        size_px=size,
    )
    img = image_of(png)
    assert img.size == (size, size)
    assert_not_blank(img)
    assert not missing_glyphs(mpl_messages.messages)


def test_radar_chart_shows_only_its_own_ratings():
    """Charts share a frame drawn once per set of labels: one person's polygons must
    never appear in the next person's chart, with or without a second series."""

    def chart(pre: list[float | None], post: list[float | None] | None) -> bytes:
        return radar_chart(
            SKILLS_TH, pre, post, title="ผลการประเมินตนเอง", pre_label="ก่อน", post_label="หลัง"
        )

    low, high = [1] * 9, [5] * 9
    first = chart(low, None)
    other = chart(high, [4] * 9)
    assert image_of(first).tobytes() != image_of(other).tobytes()
    assert chart(low, None) == first  # nothing of `other` is left on the frame
    assert chart(high, [4] * 9) == other


def test_radar_chart_rejects_mismatched_values():
    with pytest.raises(ValueError):
        radar_chart(["a", "b", "c"], [1, 2], None, title="x", pre_label="p", post_label="q")


def test_bar_chart_thai(mpl_messages, messages):
    png = bar_chart(
        SKILLS_TH,
        {
            t(messages, "chart.pre"): [2, 3, 1, 1.5, 2, 2, 3, 1, 2],
            t(messages, "chart.post"): [3.25, 4, 3, 2, 4, 3, 4, 2, 3],
        },
        title="ค่าเฉลี่ยระดับทักษะ ก่อนและหลังพัฒนา",
        y_label=t(messages, "chart.level_axis"),
    )
    img = image_of(png)
    assert img.size == (1000, 600)
    assert_not_blank(img)
    assert not missing_glyphs(mpl_messages.messages), mpl_messages.messages


def test_bar_chart_single_series_custom_size(mpl_messages):
    png = bar_chart(
        [f"ขั้นที่ {n}" for n in range(1, 7)],
        {"จำนวนคน": [40, 35, 28, 20, 12, 0]},
        title="จำนวนบุคลากรในแต่ละขั้น",
        y_label="คน",
        size_px=(777, 431),
    )
    img = image_of(png)
    assert img.size == (777, 431)
    assert_not_blank(img)
    assert not missing_glyphs(mpl_messages.messages)


def test_charts_are_thread_safe():
    def render(_: int) -> bytes:
        return radar_chart(
            SKILLS_TH[:5],
            [1, 2, 3, 4, 5],
            [2, 3, 4, 5, 5],
            title="ท",
            pre_label="ก",
            post_label="ข",
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(render, range(8)))
    assert all(image_of(png).size == (800, 800) for png in results)
    assert len({image_of(png).tobytes() for png in results}) == 1


# --- certificate ---------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    """The text of every page as a PDF reader extracts it (through the fonts'
    ToUnicode maps), one printed line per line."""
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _certificate(messages: dict, lang: str, name: str, agency: str, skills: list[str]) -> bytes:
    return certificate_pdf(
        title=t(messages, "certificate.title", lang),
        body_lines=t(messages, "certificate.body", lang).split("\n"),
        name=name,
        agency=agency,
        date_text=format_date(
            date(2026, 11, 21), lang, month_names(t(messages, "date.months", lang))
        ),
        skills=skills,
        footer=t(messages, "certificate.footer", lang),
        skills_heading=t(messages, "certificate.skills_heading", lang),
    )


SHAPING_MODES = [
    pytest.param(False, id="outlines"),
    pytest.param(
        True,
        id="uharfbuzz",
        marks=pytest.mark.skipif(
            not certificate_module.text_shaping_available(), reason="uharfbuzz not installed"
        ),
    ),
]


@pytest.mark.parametrize("shaping", SHAPING_MODES)
def test_certificate_thai_text_is_in_the_pdf(shaping, monkeypatch, messages):
    monkeypatch.setattr(certificate_module, "text_shaping_available", lambda: shaping)
    agency = "กรมส่งเสริมการปกครองท้องถิ่น"
    pdf = _certificate(messages, "th", HARD_THAI_NAME, agency, SKILLS_TH)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf)
    lines = text.splitlines()
    assert HARD_THAI_NAME in lines
    assert agency in lines
    assert t(messages, "certificate.title") in lines
    assert "21 พฤศจิกายน 2569" in lines
    assert all(any(skill in line for line in lines) for skill in SKILLS_TH)
    for body_line in t(messages, "certificate.body").split("\n"):
        assert body_line in lines


def test_certificate_english(messages):
    pdf = _certificate(
        messages,
        "en",
        "Ms Pimchanok Srisuwan",
        "Department of Local Administration",
        ["Spreadsheets"],
    )
    lines = pdf_text(pdf).splitlines()
    assert "Ms Pimchanok Srisuwan" in lines
    assert "21 November 2026" in lines
    assert "Certificate of Achievement" in lines or t(messages, "certificate.title", "en") in lines


def test_certificate_is_one_a4_landscape_page(messages):
    pdf = _certificate(messages, "th", "สมชาย ใจดี", "กรม", [])
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 1
    box = [float(v) for v in re.search(rb"/MediaBox \[([\d. ]+)\]", pdf).group(1).split()]
    assert box[2] == pytest.approx(841.89, abs=0.1) and box[3] == pytest.approx(595.28, abs=0.1)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_certificate_text_with_pdftotext(tmp_path, messages):
    pdf = _certificate(messages, "th", HARD_THAI_NAME, "กรม", SKILLS_TH[:3])
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    # poppler may see a word gap where a mark is moved left of a tall consonant
    assert HARD_THAI_NAME.replace(" ", "") in out.replace(" ", "")


# --- Thai dates --------------------------------------------------------------------------


def test_buddhist_year():
    assert buddhist_year(date(2026, 11, 21)) == 2569
    assert buddhist_year(date(2024, 1, 1)) == 2567


def test_format_date(messages):
    th = month_names(t(messages, "date.months", "th"))
    en = month_names(t(messages, "date.months", "en"))
    assert format_date(date(2026, 11, 21), "th", th) == "21 พฤศจิกายน 2569"
    assert format_date(date(2026, 11, 21), "en", en) == "21 November 2026"
    assert format_date(date(2027, 1, 1), "th", th) == "1 มกราคม 2570"
    assert format_date(date(2026, 2, 28), "en", en) == "28 February 2026"
    with pytest.raises(ValueError):
        format_date(date(2026, 1, 1), "th", th[:11])


def test_short_dates_are_unambiguous_for_english_readers(messages):
    th = month_names(t(messages, "date.months", "th"))
    en = month_names(t(messages, "date.months", "en"))
    assert format_date(date(2026, 12, 3), "th", th, short=True) == "03/12/2569"
    assert format_date(date(2026, 12, 3), "en", en, short=True) == "3 Dec 2026"  # not 03/12/2026
    assert format_month(date(2026, 11, 1), "th", th) == "พฤศจิกายน 2569"
    assert format_month(date(2026, 11, 1), "en", en) == "November 2026"


# --- content and code rules ---------------------------------------------------------------


def test_documents_messages(messages):
    expected = {
        "date.months",
        "certificate.title",
        "certificate.body",
        "certificate.skills_heading",
        "certificate.footer",
        "chart.pre",
        "chart.post",
        "chart.radar_title",
        "chart.level_axis",
    }
    assert expected <= set(messages)
    assert all(re.fullmatch(r"[a-z0-9_.]+", key) for key in messages)
    for lang in ("th", "en"):
        assert len(month_names(t(messages, "date.months", lang))) == 12


def test_no_thai_literals_in_document_code():
    for path in (ROOT / "handlers" / "documents").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search("[\u0e00-\u0e7f]", source), f"Thai text in {path.name}"
