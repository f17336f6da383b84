"""Reminders and nudges as the conversation knows them: the rules, the facts they
read, what a nudge says, and the /remind settings. Planning and sending are
work no message starts (`jobs.nudge_plan`, `jobs.nudge_send`); nudges leave
through the outbox as ordinary replies."""
