"""The first step of intake: a new ticket's request checked against the policy's vocabulary."""

from __future__ import annotations

from domain.policy.vocabulary import Vocabulary, check_known, entitled_channel
from domain.ticket.requests import TicketCreate


def admit(vocabulary: Vocabulary, request: TicketCreate) -> TicketCreate:
    """`request` checked against the policy's vocabulary, with its plan defaulted to the
    policy's first plan when the requester named none, and its channel replaced by the one the
    plan is entitled to. Raises UnknownVocabulary or ChannelNotEntitled (both 422)."""
    requester = request.requester
    if "plan" not in requester.model_fields_set:
        requester = requester.model_copy(update={"plan": vocabulary.plans[0].id})
    check_known("requester.plan", requester.plan, vocabulary.plan_ids)
    check_known("channel", request.channel, vocabulary.channel_ids)
    if request.priority is not None:
        check_known("priority", request.priority, vocabulary.priority_ids)
    channel = entitled_channel(vocabulary, request.channel, requester.plan)
    if requester is request.requester and channel == request.channel:
        return request
    return request.model_copy(update={"requester": requester, "channel": channel})
