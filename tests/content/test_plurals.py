"""English messages say "1 person" and "3 people": a plural form is chosen by the
number (Babel's CLDR rules); Thai, which has no plural, is untouched."""

from __future__ import annotations

import re

from content.loader import _fill as fill
from content.loader import load_content
from handlers.onboarding import CONSENT_VERSION
from tests.drivers.chat import Person

CONTENT = load_content()


def test_english_counts_agree_with_their_noun():
    assert CONTENT.t("admin.broadcast_sent", "en", count=1) == "Sent to 1 person."
    assert CONTENT.t("admin.broadcast_sent", "en", count=0) == "Sent to 0 people."
    assert CONTENT.t("admin.broadcast_sent", "en", count=12) == "Sent to 12 people."
    assert "1 character)" in CONTENT.t("common.too_short", "en", min=1)
    assert fill("{n} {n:level|levels}", {"n": "+1.0"}, "en") == "+1.0 levels"  # as written
    assert fill("{n} {n:level|levels}", {"n": "-1"}, "en") == "-1 level"


def test_thai_counts_have_no_plural_forms():
    assert CONTENT.t("admin.broadcast_sent", "th", count=1).count("1") == 1
    assert "|" not in CONTENT.t("admin.broadcast_sent", "th", count=2)


def test_no_english_number_is_followed_by_a_bare_plural_noun():
    """A new English message with "{count} people" would read "1 people"."""
    plural_after_number = re.compile(
        r"\{([a-z_]+)\} (people|days|rounds|skills|entries|uses|goals|levels)\b"
    )
    offenders = [
        key for key, text in CONTENT.messages.items() if plural_after_number.search(text.get("en"))
    ]
    assert offenders == []


async def test_the_privacy_notice_is_dated_by_thai_month_and_buddhist_year(app, channel):
    person = Person(app, channel)
    [notice] = await person.follow()
    assert "ฉบับเดือนพฤศจิกายน 2569" in notice.text
    assert CONSENT_VERSION not in notice.text  # "2026-11" is for the records, not for reading
