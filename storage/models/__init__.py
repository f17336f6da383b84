"""Every table the bot has. Importing this package registers them all with
SQLModel's metadata, which Alembic compares against the migrations."""

from storage.models.admin import (
    AdminRole,
    Certificate,
    Feedback,
    Idea,
    InviteCode,
    WeeklyPost,
    WorkingGroupChat,
)
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
    JourneyStep,
    OutboxMessage,
    Person,
    ProcessedEvent,
    ReminderPreference,
    StepEntry,
    Unit,
)
from storage.models.media import Media
from storage.models.nudges import Nudge, NudgeCounter

__all__ = [
    "AdminRole",
    "Agency",
    "Assessment",
    "AssessmentAnswer",
    "AuditLog",
    "Certificate",
    "ChannelAccount",
    "ConsentRefusal",
    "ConversationState",
    "Feedback",
    "Goal",
    "Idea",
    "InviteCode",
    "Journey",
    "JourneyStep",
    "Media",
    "Nudge",
    "NudgeCounter",
    "OutboxMessage",
    "Person",
    "ProcessedEvent",
    "ReminderPreference",
    "StepEntry",
    "Unit",
    "WeeklyPost",
    "WorkingGroupChat",
]
