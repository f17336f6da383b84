"""Every message of the Thai journey fits a phone screen: at most 12 lines,
the privacy notice excepted (what the law asks it to say comes first)."""

from __future__ import annotations

from tests.drivers.chat import Person, t
from tests.drivers.journey import whole_journey

MAX_LINES = 12


async def test_no_message_of_the_thai_journey_is_longer_than_twelve_lines(app, channel):
    person = Person(app, channel)
    await whole_journey(person)
    await person.tap("new")  # a second round starts too
    notice_start = t(app, "consent.notice", version="").split("\n")[0]
    long = [
        (len(reply.text.splitlines()), reply.text[:60])
        for reply in person.replies
        if not reply.text.startswith(notice_start) and len(reply.text.splitlines()) > MAX_LINES
    ]
    assert long == []
