"""Thin peewee models: fields, constraints, indexes, named queries. Logic lives in services."""
from .base import BaseModel, utcnow
from .org import Department, Team, TeamMember, User, Skill, AgentSkill, ApiToken, UserSession
from .customers import Customer, CustomerContact
from .tickets import (Category, CustomFieldDef, Ticket, TicketTag, Comment, Attachment,
                      TimelineEvent, TicketLink, SavedFilter, NumberSequence)
from .jobs import Job
from .ai import ClassifierVersion, TriageRun, LabelProfile, TriageRule, AiDraft, TicketVector
from .knowledge import (Article, ArticleVersion, ArticleTicket, ArticleUse, ArticleFile,
                        KnowledgeSearch, SynonymSet, CategoryReviewer)
from .dispatch import (AgentProfile, AgentShift, AgentAbsence, DispatchPolicy, QueueEntry,
                       RoutingDecision, AgentStat, Notification, CategorySkill)
from .mail import Mailbox, MailMessage
from .intake import IntegrationToken, Conversation, WebForm, FormSubmission, Callback
from .live import LiveEvent, LivePresence
from .process import ProcessDefinition, ProcessInstance, ProcessStep, ProcessApproval
from .audit import AuditRecord, AuditCheckpoint, AuditHead, AuditVerification, BackupRun
from .keys import DataKey, KeyCheck
from .roles import Role
from .auth import PasswordHistory, RecoveryCode, RateEvent, SecurityPolicy
from .sla import SlaCalendar, SlaPolicy, TicketSla, SlaEvent
from .survey import Survey
from .followup import FollowUpRule, FollowUpVisit
from .report_schedule import ReportSchedule, ReportRun
from .quality import QualityRuleset, QualityInspection, QualityAdjustment
from .reports import ReportFact, ReportBucket, ReportState

ALL_MODELS = [
    Customer, CustomerContact,
    Department, Team, User, TeamMember, Skill, AgentSkill, ApiToken, UserSession,
    Category, CustomFieldDef, Ticket, TicketTag, Comment, Attachment, TimelineEvent,
    TicketLink, SavedFilter, NumberSequence, Job,
    ClassifierVersion, TriageRun, LabelProfile, TriageRule, AiDraft, TicketVector,
    Article, ArticleVersion, ArticleTicket, ArticleUse, ArticleFile, KnowledgeSearch,
    SynonymSet, CategoryReviewer,
    AgentProfile, AgentShift, AgentAbsence, DispatchPolicy, QueueEntry, RoutingDecision,
    AgentStat, Notification, CategorySkill,
    Mailbox, MailMessage,
    IntegrationToken, Conversation, WebForm, FormSubmission, Callback,
    LiveEvent, LivePresence,
    ProcessDefinition, ProcessInstance, ProcessStep, ProcessApproval,
    AuditRecord, AuditCheckpoint, AuditHead, AuditVerification, BackupRun,
    DataKey, KeyCheck,
    Role,
    PasswordHistory, RecoveryCode, RateEvent, SecurityPolicy,
    SlaCalendar, SlaPolicy, TicketSla, SlaEvent,
    Survey,
    FollowUpRule, FollowUpVisit,
    ReportSchedule, ReportRun,
    QualityRuleset, QualityInspection, QualityAdjustment,
    ReportFact, ReportBucket, ReportState,
]

__all__ = [m.__name__ for m in ALL_MODELS] + ["ALL_MODELS", "BaseModel", "utcnow"]
