"""Imports every feature's models so that the metadata (and Alembic) sees the whole schema."""

from crm.accounts.models import Invitation, LoginAttempt, PasswordResetToken, RecoveryCode, User  # noqa: F401
from crm.api.models import ApiToken  # noqa: F401
from crm.audit.models import AuditEvent  # noqa: F401
from crm.backup.models import BackupRun  # noqa: F401
from crm.board.models import PublishedBoard, PublishedEntry, PublishedPosition  # noqa: F401
from crm.campaigns.models import Campaign, CampaignTranslation, Demand, DemandTranslation  # noqa: F401
from crm.contacts.models import Contact, Office, Post  # noqa: F401
from crm.core.public_forms import PublicFormHit  # noqa: F401
from crm.core.submissions import FormSubmission  # noqa: F401
from crm.countries.models import Country, CountryFactChange, Region  # noqa: F401
from crm.letters.models import (  # noqa: F401
    Letter,
    LetterAttachment,
    LetterTemplate,  # noqa: F401
)
from crm.mail.models import OutboundMessage  # noqa: F401
from crm.monitoring.models import JobStatus  # noqa: F401
from crm.outreach.models import Assignment, Claim, FollowUp, Meeting, OutreachRecord, Position  # noqa: F401
from crm.reminders.models import ReminderPreference, ReplyClock  # noqa: F401
from crm.signatures.hosted_models import HostedPetition, HostedSignature  # noqa: F401
from crm.signatures.models import Petition, Signature, SignatureImport, SignatureTally  # noqa: F401
from crm.statements.models import LetterStatement, Statement, StatementSignature, StatementText  # noqa: F401
from crm.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription  # noqa: F401
