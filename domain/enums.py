"""The desk's shared vocabulary: string enums used by API, workflow, activities and store."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Plan(StrEnum):
    STARTER = "starter"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"


class Channel(StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    PHONE = "phone"
    PORTAL = "portal"
    API = "api"


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    AWAITING_CUSTOMER = "awaiting_customer"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_UPDATE = "next_update"
    RESOLUTION = "resolution"
    CSAT_FOLLOWUP = "csat_followup"
    """A manager's follow-up owed after a low satisfaction score."""


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


class Role(StrEnum):
    SERVICE = "service"
    AGENT = "agent"
    ADMIN = "admin"


class EventType(StrEnum):
    CREATED = "created"
    AGENT_REPLY = "agent_reply"
    NOTE = "note"
    INFO_REQUESTED = "info_requested"
    CUSTOMER_REPLY = "customer_reply"
    ASSIGNED = "assigned"
    PRIORITY_CHANGED = "priority_changed"
    ESCALATED = "escalated"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    STATUS_CHANGED = "status_changed"
    REMINDER_SENT = "reminder_sent"
    CSAT_REQUESTED = "csat_requested"
    CSAT_RECEIVED = "csat_received"
    SLA_AT_RISK = "sla_at_risk"
    SLA_BREACHED = "sla_breached"
    SLA_MET = "sla_met"
    SLA_PAUSED = "sla_paused"
    SLA_RESUMED = "sla_resumed"
    NOTIFICATION_FAILED = "notification_failed"
    INCIDENT_LINKED = "incident_linked"
    INCIDENT_UNLINKED = "incident_unlinked"
    INCIDENT_UPDATE = "incident_update"
    PARENT_LINKED = "parent_linked"
