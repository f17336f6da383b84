"""Every button the journey offers fits the strictest platform limit: LINE's
quick-reply labels hold at most 20 characters (Telegram's buttons take more),
so no label is ever cut. Labels that come from an agency's own data (its
name, its units) or from the person (their platform name) are cut by the
renderer and are left out here."""

from __future__ import annotations

import pytest

from tests.drivers.chat import Person, RecordingChannel, make_app
from tests.drivers.journey import whole_journey

LABEL_LIMIT = 20  # LINE quick reply; Telegram inline buttons allow more
FROM_DATA = ("ag:", "u:", "name:platform")


@pytest.mark.parametrize("lang", ["th", "en"])
async def test_every_label_of_the_journey_fits_a_quick_reply(sqlite_url, clock, lang):
    app = await make_app(sqlite_url, clock)
    channel = RecordingChannel()
    app.add_channel(channel)
    person = Person(app, channel, lang_hint=lang)
    try:
        await whole_journey(person)
        for command in ("/menu", "/remind", "/progress", "/help"):
            await person.say(command)
        labels = {
            choice.label
            for reply in person.replies
            for choice in reply.choices
            if not choice.id.startswith(FROM_DATA)
        }
        assert len(labels) > 40, "the walk saw the journey's buttons"
        too_long = sorted(label for label in labels if len(label) > LABEL_LIMIT)
        assert too_long == [], "\n".join(too_long)
    finally:
        await app.close()
