"""Reminders and nudges: the rules, planning, sending, what a nudge says, and
the /remind settings. Platform-neutral like every handler: nudges leave
through the outbox as ordinary replies."""
