"""Major incident use cases behind `/v1/incidents`: declare, link, broadcast, resolve.

The API never decides: it starts `IncidentWorkflow` and sends it Updates; the workflow
links the tickets (each by its own Update), broadcasts and resolves them. Reading one
incident asks its workflow; listing and suggestions read the store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from domain.errors import IncidentNotFound, NotApprover
from domain.incident.actions import (
    Acknowledge,
    ApproveUpdate,
    LinkOutcome,
    LinkTickets,
    PostUpdate,
    ResolveIncident,
    SubmitReport,
    UnlinkTicket,
)
from domain.incident.state import IncidentStarted, IncidentState, IncidentStatus, PostedUpdate
from domain.incident.terms import incident_terms
from domain.incident.views import static_summary
from domain.policy.support import SupportPolicy
from runtime.temporal import retrying_not_ready, workflow_exists
from store import incidents as store
from store.engine import SessionMaker
from workflows.incident import IncidentWorkflow, IncidentWorkflowInput

Handle = WorkflowHandle[IncidentWorkflow, IncidentState]


Arg = TypeVar("Arg")
Result = TypeVar("Result")


class IncidentService:
    def __init__(
        self,
        *,
        client: Client,
        sessions: SessionMaker,
        policy: SupportPolicy,
        task_queue: str,
        mail_domain: str,
        prefix: str = "INC",
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._policy = policy
        self._task_queue = task_queue
        self._mail_domain = mail_domain
        self._prefix = prefix

    def _handle(self, incident_id: str) -> Handle:
        return self._client.get_workflow_handle_for(IncidentWorkflow.run, incident_id)

    async def declare(
        self,
        *,
        title: str,
        severity: str,
        component: str,
        commander: str | None,
        actor: str,
    ) -> IncidentState:
        terms = incident_terms(self._policy, severity)  # refuses an unknown severity (422)
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            number = await store.allocate_incident_number(session, at=now)
        started = IncidentStarted(
            incident_id=f"{self._prefix}-{number:06d}",
            title=title,
            severity=severity,
            component=component,
            commander=commander,
            declared_by=actor,
            created_at=now,
            terms=terms,
            mail_domain=self._mail_domain,
        )
        handle = await self._client.start_workflow(
            IncidentWorkflow.run,
            IncidentWorkflowInput(started=started),
            id=started.incident_id,
            task_queue=self._task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=static_summary(severity, component),
        )
        return await retrying_not_ready(lambda: handle.query(IncidentWorkflow.state))

    async def get(self, incident_id: str) -> IncidentState:
        try:
            return await self._handle(incident_id).query(IncidentWorkflow.state)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise IncidentNotFound(f"no incident {incident_id}") from err
            raise

    async def _update(
        self,
        incident_id: str,
        update: UpdateMethodMultiParam[[IncidentWorkflow, Arg], Result],
        arg: Arg,
    ) -> Result:
        """Send one Update (one id for every retry); an unknown incident is a 404. Only a
        refused Update pays for asking whether the incident exists."""
        handle, uid = self._handle(incident_id), str(uuid.uuid4())
        try:
            return await retrying_not_ready(lambda: handle.execute_update(update, arg, id=uid))
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND and not await workflow_exists(
                self._client, incident_id
            ):
                raise IncidentNotFound(f"no incident {incident_id}") from err
            raise

    async def acknowledge(self, incident_id: str, actor: str) -> IncidentState:
        return await self._update(
            incident_id, IncidentWorkflow.acknowledge, Acknowledge(actor=actor)
        )

    async def link(self, incident_id: str, ticket_ids: list[str], actor: str) -> LinkOutcome:
        link = LinkTickets(actor=actor, ticket_ids=ticket_ids)
        return await self._update(incident_id, IncidentWorkflow.link_tickets, link)

    async def unlink(self, incident_id: str, ticket_id: str, actor: str) -> IncidentState:
        unlink = UnlinkTicket(actor=actor, ticket_id=ticket_id)
        return await self._update(incident_id, IncidentWorkflow.unlink_ticket, unlink)

    async def post_update(
        self,
        incident_id: str,
        *,
        body: str,
        status: IncidentStatus | None,
        public: bool,
        actor: str,
    ) -> PostedUpdate:
        post = PostUpdate(actor=actor, body=body, status=status, public=public)
        return await self._update(incident_id, IncidentWorkflow.post_update, post)

    async def approve(
        self, incident_id: str, number: int, *, actor: str, is_admin: bool
    ) -> PostedUpdate:
        if not is_admin and actor not in self._policy.incidents.approvers:
            raise NotApprover("only a manager (admin, or an approver the policy names) approves")
        approve = ApproveUpdate(actor=actor, number=number)
        return await self._update(incident_id, IncidentWorkflow.approve_update, approve)

    async def resolve(self, incident_id: str, resolution: str, actor: str) -> IncidentState:
        resolve = ResolveIncident(actor=actor, resolution=resolution)
        return await self._update(incident_id, IncidentWorkflow.resolve, resolve)

    async def report(self, incident_id: str, body: str, actor: str) -> IncidentState:
        report = SubmitReport(actor=actor, body=body)
        return await self._update(incident_id, IncidentWorkflow.submit_report, report)

    async def suggestions(self) -> tuple[int, int, list[store.Suggestion]]:
        spec = self._policy.incidents.suggestions
        since = datetime.now(UTC) - timedelta(seconds=spec.window)
        async with self._sessions() as session:
            found = await store.suggestions(session, since=since, min_tickets=spec.min_tickets)
        return spec.window, spec.min_tickets, found
