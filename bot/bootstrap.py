"""Start-up work shared by every command: migrate the database, seed the demo agency."""

from __future__ import annotations

import logging

from sqlmodel import select

from bot.app import App
from storage.db import transaction
from storage.migrate import upgrade
from storage.models import Agency, Unit

log = logging.getLogger(__name__)

DEMO_CODE = "DEMO"


async def prepare(app: App) -> None:
    """Bring the schema up to date (an empty SQLite file included) and seed demo data."""
    await upgrade(app.engine)
    if app.settings.dlcoach_demo_agency:
        await ensure_demo_agency(app)


async def ensure_demo_agency(app: App) -> None:
    """Create the demo agency and its units once; names come from content/."""
    lang = app.settings.default_lang
    async with transaction(app.sessions) as session:
        found = (await session.exec(select(Agency).where(Agency.code == DEMO_CODE))).first()
        if found is not None:
            return
        agency = Agency(
            code=DEMO_CODE,
            name=app.content.t("demo.agency_name", lang),
            timezone=app.settings.timezone,
        )
        session.add(agency)
        await session.flush()
        for name in app.content.t("demo.units", lang).split(","):
            if name.strip():
                session.add(Unit(agency_id=agency.id, name=name.strip()))
        log.info("created the demo agency %s", DEMO_CODE)
