"""The `dlcoach chat` loop: one line in, the replies out, until end of input.

No scheduler runs in the terminal, so a nudge that fell due shows up the next
time the person types (`NudgeJobs.catch_up`).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from typing import TextIO

from bot.app import App
from bot.channels.console import CHANNEL, ConsoleChannel


async def run_chat(
    app: App, channel: ConsoleChannel, lang: str, stdin: TextIO | None = None
) -> None:
    """Open the chat (like following the bot), then answer each typed line."""
    stdin = stdin or sys.stdin
    user = channel.user
    channel.notes = {
        "image": app.content.t("console.image_saved", lang),
        "document": app.content.t("console.document_saved", lang),
    }
    await app.nudges.catch_up(CHANNEL, user)
    await app.handle(replace(channel.opening(), lang_hint=lang))
    await app.delivery.drain([CHANNEL], chat_ids=[user])
    interactive = stdin.isatty()
    while True:
        if interactive:
            channel.out.write("> ")
            channel.out.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        if not line.strip():
            continue
        await app.nudges.catch_up(CHANNEL, user)
        await app.handle(channel.incoming(line))
        await app.delivery.drain([CHANNEL], chat_ids=[user])
