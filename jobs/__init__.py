"""Work that no message starts: planning and sending nudges, the weekly post to
the working-group chat, report exports. Platform-neutral: what they say leaves
through the outbox like any reply; `bot.scheduler` only decides when they run.
"""
