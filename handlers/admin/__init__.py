"""The agency's working group in chat: admin roles and invite codes, the admin
commands (summary, inactive, nudge, broadcast, feedback, ideas, export,
exemplary), the working-group chat, and what every person can send it (/idea).

Every admin command checks the sender's role in the database on every call,
sees only the sender's own agency, and leaves a row in the audit log.
"""
