"""The desk's vocabulary: its priorities, plans and channels, as the policy file lists them.

Tickets carry plain string ids (`domain.enums.PriorityId`, ...); this module says which ids a
policy knows, in which order priorities rank, and what intake does with a channel a plan is
not entitled to. `domain.intake.admission.admit` checks a new ticket's request against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from domain.enums import ChannelId, LanguageTag, PlanId, PriorityId, in_language
from domain.errors import DomainError
from domain.policy.models import PolicyModel

Label = Annotated[str, StringConstraints(min_length=1, max_length=50)]


class Labelled(PolicyModel):
    """A vocabulary entry's name for people: `label` ("Critical"), and `labels` by language
    (`{es: Crítica, fr: Critique}`) for emails in that language."""

    id: str
    label: str = Field(default="", max_length=50)
    """What emails and people call it; the id when left out."""
    labels: dict[LanguageTag, Label] = {}
    """The label in other languages; a language without one gets `label`."""

    @property
    def display(self) -> str:
        return self.label or self.id

    def display_in(self, language: str | None) -> str:
        """The label in `language` (or its base language: `es` for `es-MX`), else `label`,
        else the id."""
        return in_language(self.labels, language, self.display)


class PrioritySpec(Labelled):
    """One priority. Lower `rank` is more urgent; ranks are unique."""

    id: PriorityId
    rank: int = Field(ge=0, le=1000)


class PlanSpec(Labelled):
    id: PlanId
    languages: list[str] | None = Field(default=None, min_length=1)
    """The languages the plan is entitled to (None: every language of the policy)."""


class CategorySpec(Labelled):
    """A ticket category. The policy file may list a category as its bare id (`billing`)."""

    id: str = Field(min_length=1, max_length=50)


class ChannelSpec(Labelled):
    """One intake channel. `plans`: the plans entitled to it (None: every plan). A ticket of
    another plan is taken in on the `otherwise` channel, or refused (422) with "reject"."""

    id: ChannelId
    plans: list[PlanId] | None = Field(default=None, min_length=1)
    otherwise: ChannelId | Literal["reject"] = "reject"


def default_priorities() -> list[PrioritySpec]:
    return [
        PrioritySpec(id="P1", label="Critical", rank=1),
        PrioritySpec(id="P2", label="High", rank=2),
        PrioritySpec(id="P3", label="Medium", rank=3),
        PrioritySpec(id="P4", label="Low", rank=4),
    ]


def default_plans() -> list[PlanSpec]:
    return [
        PlanSpec(id="starter", label="Starter"),
        PlanSpec(id="professional", label="Professional"),
        PlanSpec(id="enterprise", label="Enterprise"),
    ]


def default_channels() -> list[ChannelSpec]:
    return [
        ChannelSpec(id="email", label="Email"),
        ChannelSpec(id="chat", label="Chat"),
        ChannelSpec(id="phone", label="Phone"),
        ChannelSpec(id="portal", label="Portal"),
        ChannelSpec(id="api", label="API"),
    ]


class UnknownVocabulary(DomainError):
    """A request names a priority, plan or channel the loaded policy does not list."""

    status_code = 422
    code = "validation_error"


class ChannelNotEntitled(DomainError):
    """The requester's plan may not use the channel, and the channel says to refuse."""

    status_code = 422
    code = "channel_not_entitled"


class Vocabulary(PolicyModel):
    """The three lists, validated together with the policy (`domain.policy.checks`)."""

    priorities: list[PrioritySpec] = Field(default_factory=default_priorities, min_length=1)
    plans: list[PlanSpec] = Field(default_factory=default_plans, min_length=1)
    channels: list[ChannelSpec] = Field(default_factory=default_channels, min_length=1)
    categories: list[CategorySpec] = []

    @property
    def priority_ids(self) -> list[str]:
        """Most urgent first."""
        return [p.id for p in sorted(self.priorities, key=lambda p: p.rank)]

    @property
    def plan_ids(self) -> list[str]:
        return [p.id for p in self.plans]

    @property
    def channel_ids(self) -> list[str]:
        return [c.id for c in self.channels]

    def rank(self, priority: str) -> int:
        return next(p.rank for p in self.priorities if p.id == priority)

    def more_urgent(self, priority: str) -> str:
        """The next more urgent priority by rank; the most urgent one stays."""
        order = self.priority_ids
        return order[max(order.index(priority) - 1, 0)]

    def priority_label(self, priority: str, language: str | None = None) -> str:
        """Its label (in `language` where the policy gives one), else the id itself."""
        return next((p.display_in(language) for p in self.priorities if p.id == priority), priority)

    def plan_label(self, plan: str, language: str | None = None) -> str:
        return next((p.display_in(language) for p in self.plans if p.id == plan), plan)

    def category_label(self, category: str, language: str | None = None) -> str:
        return next((c.display_in(language) for c in self.categories if c.id == category), category)

    def channel(self, channel: str) -> ChannelSpec:
        return next(c for c in self.channels if c.id == channel)


def check_known(field: str, value: str, known: Sequence[str]) -> None:
    """Raise UnknownVocabulary (422) naming the allowed ids unless `value` is one of them."""
    if value not in known:
        raise UnknownVocabulary(f"{field}: unknown {value!r}; allowed: {', '.join(known)}")


def entitled_channel(vocabulary: Vocabulary, channel: str, plan: str) -> str:
    """The channel a ticket of `plan` arriving on `channel` is taken in on: the channel itself
    when the plan is entitled to it, else its `otherwise` (followed, since that one may be
    restricted too). Raises ChannelNotEntitled where the chain ends in "reject"."""
    seen: list[str] = []
    current = channel
    while True:
        spec = vocabulary.channel(current)
        if spec.plans is None or plan in spec.plans:
            return current
        seen.append(current)
        if spec.otherwise == "reject" or spec.otherwise in seen:
            entitled = ", ".join(spec.plans)
            raise ChannelNotEntitled(
                f"channel: {channel!r} is for the plans {entitled}, not {plan!r}"
            )
        current = spec.otherwise
