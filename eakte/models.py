"""The records model (DOMAIN.md §1): units, users, file plan, cases, documents with immutable versions, audit."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from eakte.clock import utcnow

DISPOSAL_ACTIONS = ("archive", "destroy")
CASE_STATUSES = ("open", "closed")
PROCEDURE_KINDS = ("procedure", "subfile")
FOLLOWUP_STATUSES = ("open", "done")
ACCESS_REQUEST_STATUSES = ("pending", "granted", "refused", "withdrawn")
ADVERSE_STATUSES = ("hearing", "filed", "removed")
TEXT_STATUSES = ("pending", "done", "encrypted", "unsupported", "failed")
TRANSMISSION_STATUSES = ("pending", "sent", "confirmed", "failed")
EXTRACT_KINDS = ("simple", "extended")

# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: DateTime(timezone=False)}


class Unit(Base):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The web interface's language ("de", "en"); None: the default (German).
    locale: Mapped[str | None] = mapped_column(String(8))
    # Set when an admin sets the password (a one-time password): the next login leads to the change-password page.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")


class Membership(Base):
    """A role a user holds in a unit. `admin` and `auditor` act system-wide (DOMAIN.md: Revision sees everything)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "unit_id", "role"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    user: Mapped[User] = relationship(back_populates="memberships")
    unit: Mapped[Unit] = relationship()


class ApiToken(Base):
    """Personal API tokens; only the SHA-256 of the secret is stored (the secret has 256 bits of entropy)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    user: Mapped[User] = relationship()


class WebSession(Base):
    """A browser session: the cookie holds the secret, only its SHA-256 is stored; ended, never deleted."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_addr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    user: Mapped[User] = relationship()


class FilePlanNode(Base):
    __tablename__ = "file_plan_nodes"
    __table_args__ = (CheckConstraint("disposal IN ('archive', 'destroy')", name="ck_file_plan_disposal"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("file_plan_nodes.id"))
    retention_years: Mapped[int] = mapped_column(Integer)
    disposal: Mapped[str] = mapped_column(String(20), default="archive")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CaseCounter(Base):
    """The last running number per file-plan node and year; incremented under a row lock so numbers have no gaps."""

    __tablename__ = "case_counters"
    file_plan_node_id: Mapped[int] = mapped_column(ForeignKey("file_plan_nodes.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("file_plan_node_id", "year", "number"),
        CheckConstraint("status IN ('open', 'closed')", name="ck_case_status"),
        Index("ix_cases_unit_status_updated", "unit_id", "status", "updated_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    file_plan_node_id: Mapped[int] = mapped_column(ForeignKey("file_plan_nodes.id"))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    case_type: Mapped[str] = mapped_column(String(64), default="general", index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.date | None] = mapped_column(Date)
    # xdomea Vertraulichkeitsstufe, a key of the configured levels (`[confidentiality]`); "open" = offen.
    confidentiality: Mapped[str] = mapped_column(String(32), default="open", server_default="open")
    # The last procedure number handed out in this case: raised under the case's row lock, so numbers have no gaps.
    last_procedure_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The person the file is about, when they have an account (a personnel file's employee, from the field the
    # case type names as `subject_field`): they may inspect their own file read-only.
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    file_plan_node: Mapped[FilePlanNode] = relationship(lazy="joined", innerjoin=True)
    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True)


class Procedure(Base):
    """A Vorgang inside a case (its own running number and reference `20.30/0042/2026-3`), or a named sub-file
    (Teilakte) the case type declares (`subfile` is the declared key; its access rule and retention come from
    the declaration)."""

    __tablename__ = "procedures"
    __table_args__ = (
        UniqueConstraint("case_id", "number"),
        UniqueConstraint("case_id", "subfile"),
        CheckConstraint("status IN ('open', 'closed')", name="ck_procedure_status"),
        CheckConstraint("kind IN ('procedure', 'subfile')", name="ck_procedure_kind"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="procedure")
    subfile: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.date | None] = mapped_column(Date)
    # What the procedure is about, as its case type declares it (e.g. a trade notification: its kind, the day it
    # was received, the submitted data); a procedure-scoped workflow reads it beside the case's metadata.
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict, server_default="{}")
    case: Mapped[Case] = relationship(lazy="joined", innerjoin=True)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_created_by_created_at", "created_by", "created_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(64), default="document")
    document_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    # None: filed at case level; else in exactly one procedure or sub-file of the same case.
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"), index=True)
    # Check-out: while set, nobody but the holder adds a version (a lock, not a record: the audit trail keeps who
    # held it when).
    checked_out_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_out_at: Mapped[dt.datetime | None]
    case: Mapped[Case] = relationship(lazy="joined", innerjoin=True)
    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document", order_by="DocumentVersion.number", lazy="selectin")


class DocumentVersion(Base):
    """One stored file. Rows are never updated except for the text-extraction status."""

    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("document_id", "number"),
        CheckConstraint("text_status IN ('pending', 'done', 'encrypted', 'unsupported', 'failed')",
                        name="ck_version_text_status"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    blob_key: Mapped[str] = mapped_column(String(200), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(500))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    text_status: Mapped[str] = mapped_column(String(20), default="pending")
    text_error: Mapped[str | None] = mapped_column(Text)
    document: Mapped[Document] = relationship(back_populates="versions")


class Note(Base):
    """A Vermerk: immutable once saved; a correction is a new note naming the one it corrects."""

    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"), index=True)
    noted_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("notes.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class FollowUp(Base):
    """A Wiedervorlage: on `due_on` the case (or procedure) comes back to the user's inbox, or to the unit's when
    `user_id` is None."""

    __tablename__ = "followups"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done')", name="ck_followup_status"),
        Index("ix_followups_open_due", "status", "due_on"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[dt.datetime | None]
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CaseKey(Base):
    """A value that identifies at most one case of its type (`CaseType.unique_fields`, e.g. a personnel number):
    the unique constraint makes two concurrent creations with the same value fail, whatever the metadata says."""

    __tablename__ = "case_keys"
    __table_args__ = (UniqueConstraint("case_type", "name", "value"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    case_type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(200))


class AccessRequest(Base):
    """Recorded-reason access (Einsicht mit Begründung) to one restricted case, e.g. an auditor's to a personnel
    file: asked for with a reason, granted (for a limited time) or refused by the case type's granting role, or
    granted at once and flagged where configured. Rows are never deleted: they are the file's access record."""

    __tablename__ = "access_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'granted', 'refused', 'withdrawn')", name="ck_access_request_status"),
        Index("ix_access_requests_user_status", "user_id", "status", "expires_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # who asks (and, once granted, may read)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)  # the decider's, required for a refusal
    expires_at: Mapped[dt.datetime | None]  # naive UTC; a grant counts while now < expires_at
    # Granted immediately by configuration, without a decider: flagged for the granting role to review.
    immediate: Mapped[bool] = mapped_column(default=False, server_default=false())


class AdverseItem(Base):
    """An adverse item (nachteiliger Vorgang: complaint, warning) of a personnel file on its way through the
    hearing (BBG §109) to being filed, and on to its removal (BBG §112). The item's document and the employee's
    statement are ordinary documents of the file; this row holds the state the rules of
    `workflows.personnel.adverse` move it through."""

    __tablename__ = "adverse_items"
    __table_args__ = (
        CheckConstraint("status IN ('hearing', 'filed', 'removed')", name="ck_adverse_status"),
        Index("ix_adverse_items_status_removal", "status", "removal_due_on"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"))
    # The item's document; NULL once removed (destroyed: `DocumentDestruction` records that, never what).
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="hearing")
    hearing_due_on: Mapped[dt.date] = mapped_column(Date)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"))
    statement_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    statement_declined: Mapped[bool] = mapped_column(default=False, server_default=false())
    heard_at: Mapped[dt.datetime | None]
    heard_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[dt.datetime | None]
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removal_due_on: Mapped[dt.date | None] = mapped_column(Date)
    removed_at: Mapped[dt.datetime | None]
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removal_ground: Mapped[str | None] = mapped_column(String(32))  # "application" | "unfounded"
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class DocumentDestruction(Base):
    """That a document was destroyed, when, by whom and on which ground, never what it was: the one row that lets
    the database delete its versions (the trigger of migration 0012 refuses any other deletion)."""

    __tablename__ = "document_destructions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    document_id: Mapped[int] = mapped_column(Id, unique=True)  # no foreign key: the document row goes
    destroyed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    destroyed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ground: Mapped[str] = mapped_column(String(64))


class ExtractedText(Base):
    """Text for the search index, kept apart so version rows stay small."""

    __tablename__ = "extracted_texts"
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    """Append-only, hash-chained trail: hash = SHA-256(prev_hash ‖ canonical form of this event)."""

    __tablename__ = "audit_events"
    # A user's or unit's history (the admin pages) without reading the whole trail.
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    occurred_at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(Id)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[int | None] = mapped_column(Id, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_addr: Mapped[str | None] = mapped_column(String(100))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# --- workflows ----------------------------------------------------------------------------------------------

class WorkflowInstance(Base):
    """A run of a case type's workflow: one per case, or, for a type whose workflow runs per procedure
    (`CaseType.workflow_scope == "procedure"`, e.g. one per trade notification), one per procedure."""

    __tablename__ = "workflow_instances"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'completed', 'rejected')", name="ck_workflow_status"),
        Index("uq_workflow_instances_case", "case_id", unique=True, sqlite_where=text("procedure_id IS NULL"),
              postgresql_where=text("procedure_id IS NULL")),
        Index("uq_workflow_instances_procedure", "procedure_id", unique=True,
              sqlite_where=text("procedure_id IS NOT NULL"), postgresql_where=text("procedure_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"))
    case_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="running")
    current_step: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class Task(Base):
    """One unit's (or person's) share of a step. Completed with a conditional UPDATE, so of two people completing
    the same task at once exactly one succeeds."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done', 'cancelled')", name="ck_task_status"),
        Index("ix_tasks_open_unit_role", "status", "unit_id", "role", "due_at"),
        Index("ix_tasks_open_assignee", "status", "assignee_id"),
        Index("ix_tasks_open_escalation", "status", "escalate_unit_id", "escalate_role"),
        Index("ix_tasks_due", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("workflow_instances.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # The procedure whose workflow this task belongs to (procedure-scoped workflows), else None.
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"), index=True)
    case_type: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(32))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="open")
    decision: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    due_at: Mapped[dt.datetime | None]
    escalate_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    escalate_role: Mapped[str | None] = mapped_column(String(32))
    escalated_at: Mapped[dt.datetime | None]
    # Set when a return to an earlier step voided this decision: it stays in the history but no longer counts.
    voided_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    case: Mapped[Case] = relationship(lazy="joined", innerjoin=True)
    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True, foreign_keys=[unit_id])
    # selectin, not joined: an outer join would refuse the FOR UPDATE the services take on tasks (PostgreSQL).
    procedure: Mapped[Procedure | None] = relationship(lazy="selectin")


class WorkflowEvent(Base):
    """The workflow's own append-only history (the audit trail records the same decisions, hash-chained)."""

    __tablename__ = "workflow_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("workflow_instances.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    step: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(Id)
    actor: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Deputy(Base):
    """Vertretung: `deputy_id` acts for `user_id` from `starts_on` to `ends_on` (inclusive)."""

    __tablename__ = "deputies"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    # Appointed by an admin: may come from another unit and covers all the absent person's units; a deputy
    # a user names themselves acts only in the units both share.
    by_admin: Mapped[bool] = mapped_column(default=False, server_default=false())


class PaymentExport(Base):
    __tablename__ = "payment_exports"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    csv_key: Mapped[str] = mapped_column(String(200))  # the files live in the blob store, content-addressed
    pain001_key: Mapped[str | None] = mapped_column(String(200))  # None when no invoice was SEPA-payable


class InvoicePayment(Base):
    """Marks a released invoice as exported for payment, once."""

    __tablename__ = "invoice_payments"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("payment_exports.id"), index=True)


# --- trade register (workflows/trade) ---------------------------------------------------------------------

class TradeEntry(Base):
    """One dated state of a business's register entry (Gewerberegister): every notification that changes the
    entry adds a row, none is ever changed (a trigger refuses it); the newest row is the current entry, which the
    case's metadata mirrors for search and lists."""

    __tablename__ = "trade_entries"
    __table_args__ = (UniqueConstraint("case_id", "version"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)  # the notification
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per business
    notification: Mapped[str] = mapped_column(String(20))  # anmeldung | ummeldung | abmeldung
    valid_from: Mapped[dt.date] = mapped_column(Date)  # the day the start, change or closure took effect
    status: Mapped[str] = mapped_column(String(20))  # active | closed
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # the whole entry (workflows.trade.entry)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class TradeTransmission(Base):
    """One outgoing message of a notification to one recipient (GewAnzV §3): generated as a document of the
    procedure (kind `transmission`), then pending → sent → confirmed; failed sends are retried."""

    __tablename__ = "trade_transmissions"
    __table_args__ = (
        UniqueConstraint("procedure_id", "recipient"),
        CheckConstraint("status IN ('pending', 'sent', 'confirmed', 'failed')", name="ck_trade_transmission_status"),
        Index("ix_trade_transmissions_status_due", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"))
    recipient: Mapped[str] = mapped_column(String(64))  # key of the configured recipient table
    format: Mapped[str] = mapped_column(String(8))  # json | xml
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    due_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    confirmed_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class TradeRetrieval(Base):
    """A register retrieval (§14(5)–(11) GewO): which extract of which business, by whom, for what purpose and
    case reference, and for an extended extract the requester and the legal interest or public basis. Kept only
    to check legality and deleted after six months by the periodic job (the audit trail keeps that it ran)."""

    __tablename__ = "trade_retrievals"
    __table_args__ = (
        CheckConstraint("kind IN ('simple', 'extended')", name="ck_trade_retrieval_kind"),
        Index("ix_trade_retrievals_retrieved_at", "retrieved_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    requester: Mapped[str | None] = mapped_column(String(300))
    requester_kind: Mapped[str | None] = mapped_column(String(20))  # private | public (extended only)
    interest: Mapped[str | None] = mapped_column(Text)  # legal interest shown, or the public body's basis
    purpose: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200))  # the requester's case reference
    retrieved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retrieved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# --- misallocation levy (workflows/levy) ------------------------------------------------------------------

class LevySurvey(Base):
    """One survey run (Erhebung) from a landlord's list: the flats it created or updated, one procedure per
    household, the request letters (each a document of its procedure) and their print batch (one PDF in the blob
    store, content-addressed)."""

    __tablename__ = "levy_surveys"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    landlord: Mapped[str] = mapped_column(String(300))
    reference_date: Mapped[dt.date] = mapped_column(Date)  # Stichtag of the income limits
    deadline: Mapped[dt.date] = mapped_column(Date)  # the households' response deadline
    period_start: Mapped[dt.date] = mapped_column(Date)  # the payment period the survey is for
    period_end: Mapped[dt.date] = mapped_column(Date)
    households: Mapped[int] = mapped_column(Integer, default=0)
    source_name: Mapped[str | None] = mapped_column(String(255))  # the uploaded list's file name
    batch_sha256: Mapped[str | None] = mapped_column(String(64))  # the print batch (all letters) in the blob store
    batch_size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class LevyTableVersion(Base):
    """A loaded version of the levy tables (income limits, bands, maximum amounts; workflows.levy.tables): never
    changed once loaded, confirmed once by an admin. Assessments name the version and its hash they used."""

    __tablename__ = "levy_table_versions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    label: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    loaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    loaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[dt.datetime | None]
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class LevyAssessment(Base):
    """One computation of a household's levy with every input and the result (workflows.levy.compute), as the
    clerk ran it in the Berechnung step: never changed (a trigger refuses it); a new round adds a row."""

    __tablename__ = "levy_assessments"
    __table_args__ = (UniqueConstraint("procedure_id", "number"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … per procedure
    kind: Mapped[str] = mapped_column(String(20))  # initial | change | remedy
    effective_from: Mapped[dt.date] = mapped_column(Date)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    monthly_levy: Mapped[str] = mapped_column(String(32))  # decimal text, e.g. "147.60"
    table_version: Mapped[str] = mapped_column(String(64))
    table_sha256: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    computed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class LevyNotice(Base):
    """A notice issued (Festsetzungs-, Änderungs- or Aufhebungsbescheid): the assessment it fixes, from when to
    when the monthly amount is due, its PDF document; marked sent once. Its amount never changes: a change is a
    new notice from a later date."""

    __tablename__ = "levy_notices"
    __table_args__ = (
        CheckConstraint("kind IN ('assessment', 'change', 'cancellation')", name="ck_levy_notice_kind"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("levy_assessments.id"))  # None: cancellation
    kind: Mapped[str] = mapped_column(String(20))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date] = mapped_column(Date)
    monthly_levy: Mapped[str] = mapped_column(String(32))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    issued_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sent_on: Mapped[dt.date | None] = mapped_column(Date)
    superseded_from: Mapped[dt.date | None] = mapped_column(Date)  # a later notice replaces it from that day


class LevyObjection(Base):
    """A Widerspruch against a notice: received when, the deadline it had, whether it was late, the grounds, and
    how it was decided (remedied by a new notice, or not remedied and forwarded to the objection authority)."""

    __tablename__ = "levy_objections"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'remedied', 'rejected')", name="ck_levy_objection_status"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("levy_notices.id"))
    received_on: Mapped[dt.date] = mapped_column(Date)
    deadline: Mapped[dt.date] = mapped_column(Date)
    late: Mapped[bool] = mapped_column(default=False)
    grounds: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    forwarded_to: Mapped[str | None] = mapped_column(String(300))


class LevyPayment(Base):
    """A payment received for a levy procedure, typed in or imported from the cash office's CSV (`booking_id`
    keeps an import from booking a line twice), or the reversal of one."""

    __tablename__ = "levy_payments"
    __table_args__ = (
        CheckConstraint("source IN ('manual', 'import', 'reversal')", name="ck_levy_payment_source"),
        CheckConstraint("source != 'reversal' OR (supersedes_id IS NOT NULL AND note IS NOT NULL)",
                        name="ck_levy_payment_reversal"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    paid_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(140))  # Verwendungszweck
    booking_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(20), default="manual")
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # A reversal (source "reversal", with its reason in `note`) or the cash office's line for a payment typed in
    # by hand (source "import") names the payment it supersedes; rows are never changed (a trigger refuses).
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("levy_payments.id"), unique=True)
    note: Mapped[str | None] = mapped_column(String(500))


# --- search -------------------------------------------------------------------------------------------------

class SearchOutbox(Base):
    """Index changes, written in the same transaction as the record change; a job drains them into the index.
    A row names a document, or a case (all its documents: a case's title, status or metadata changed)."""

    __tablename__ = "search_outbox"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    document_id: Mapped[int | None] = mapped_column(Id)
    case_id: Mapped[int | None] = mapped_column(Id)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
