"""Domain errors. Each carries the HTTP status the API maps it to (in one place, api/errors.py)."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidTransition(DomainError):
    """An action the ticket's current status does not allow. Raised by update validators."""

    status_code = 409
    code = "invalid_transition"


class InvalidCursor(DomainError):
    """A list's `cursor` that no page of ours handed out."""

    status_code = 422
    code = "validation_error"


class TicketNotFound(DomainError):
    status_code = 404
    code = "not_found"


class IdempotencyConflict(DomainError):
    status_code = 409
    code = "idempotency_conflict"


class FollowUpRequired(InvalidTransition):
    """A customer message for a ticket that takes no more replies: it opens a follow-up."""

    code = "follow_up_required"


class NotAssignable(DomainError):
    """The named agent does not exist, is inactive or has no capacity, or the team is unknown."""

    status_code = 409
    code = "not_assignable"


class NotApprover(DomainError):
    """The caller's role may not decide this approval at the rung it waits on."""

    status_code = 403
    code = "forbidden"


class ApprovalNotFound(DomainError):
    status_code = 404
    code = "not_found"


class IncidentNotFound(DomainError):
    status_code = 404
    code = "not_found"


class OpenChildren(InvalidTransition):
    """A parent ticket with open children, resolved without resolving them too."""

    code = "open_children"
