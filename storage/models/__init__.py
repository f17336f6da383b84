"""Every table the bot has. Importing this package registers them all with
SQLModel's metadata, which Alembic compares against the migrations."""

from storage.models.core import (
    Agency,
    Assessment,
    AssessmentAnswer,
    AuditLog,
    ChannelAccount,
    ConsentRefusal,
    ConversationState,
    Goal,
    Journey,
    OutboxMessage,
    Person,
    ProcessedEvent,
    ReminderPreference,
    StepEntry,
    Unit,
)

__all__ = [
    "Agency",
    "Assessment",
    "AssessmentAnswer",
    "AuditLog",
    "ChannelAccount",
    "ConsentRefusal",
    "ConversationState",
    "Goal",
    "Journey",
    "OutboxMessage",
    "Person",
    "ProcessedEvent",
    "ReminderPreference",
    "StepEntry",
    "Unit",
]
