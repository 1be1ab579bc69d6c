"""What the email activity adds to a notification's context before rendering: the desk's
brand, the ticket link, the survey's signed one-click links, and the promise of the next
due time in the customer's time zone and the target in words of their language.

The workflow decides each email and its facts (`domain.ticket.change`); values that come
from the process's settings (`PORTAL_URL`, the survey secret) or that are only wording are
added here, at render time, so no secret and no URL enters a workflow's history. Every
value is added with a fallback, so a notification asked for before these values existed
(carried across an upgrade) still renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.policy.customer import BrandSpec
from domain.ticket.notifications import Notification
from domain.ticket.survey_links import SurveyToken, score_links

# (singular, plural) of day, hour and minute in each built-in language; "and" between parts;
# (singular, plural) of a business day.
_UNITS: dict[
    str, tuple[tuple[str, str], tuple[str, str], tuple[str, str], str, tuple[str, str]]
] = {
    "en": (("day", "days"), ("hour", "hours"), ("minute", "minutes"), "and",
           ("business day", "business days")),
    "ms": (("hari", "hari"), ("jam", "jam"), ("minit", "minit"), "dan",
           ("hari bekerja", "hari bekerja")),
    "mk": (("ден", "дена"), ("час", "часа"), ("минута", "минути"), "и",
           ("работен ден", "работни дена")),
    "sq": (("ditë", "ditë"), ("orë", "orë"), ("minutë", "minuta"), "e",
           ("ditë pune", "ditë pune")),
    "es": (("día", "días"), ("hora", "horas"), ("minuto", "minutos"), "y",
           ("día hábil", "días hábiles")),
    "fr": (("jour", "jours"), ("heure", "heures"), ("minute", "minutes"), "et",
           ("jour ouvré", "jours ouvrés")),
}  # fmt: skip


def _units(
    language: str,
) -> tuple[tuple[str, str], tuple[str, str], tuple[str, str], str, tuple[str, str]]:
    return _UNITS.get(language) or _UNITS.get(language.split("-")[0]) or _UNITS["en"]


def business_days_words(days: int, language: str) -> str:
    """`3` → "3 business days" / "3 días hábiles"."""
    singular, plural = _units(language)[4]
    return f"{days} {singular if days == 1 else plural}"


def duration_words(seconds: int, language: str) -> str:
    """`14400` → "4 hours" / "4 horas" / "4 heures"; days, hours and minutes as needed."""
    units = _units(language)
    parts = []
    rest = seconds
    for (singular, plural), size in zip(units[:3], (86400, 3600, 60), strict=True):
        amount, rest = divmod(rest, size)
        if amount:
            parts.append(f"{amount} {singular if amount == 1 else plural}")
    if not parts:
        return f"1 {units[2][0]}"  # under a minute: say a minute rather than nothing
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {units[3]} {parts[-1]}"


def local_time(iso: str, timezone: str) -> str:
    """`2026-11-30T13:00:00+00:00` in `Europe/Madrid` → "2026-11-30 14:00 (Europe/Madrid)"."""
    at = datetime.fromisoformat(iso)
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M} ({timezone})"


@dataclass(frozen=True)
class Letterhead:
    brand: BrandSpec = field(default_factory=BrandSpec)
    portal_url: str | None = None
    survey_url: str | None = None
    """Base URL of the API's `/csat/` route; with `survey_secret`, surveys carry links."""
    survey_secret: bytes | None = None

    def context(self, notification: Notification) -> dict[str, Any]:
        """The template context: the notification's own, with the rendered extras."""
        given = notification.context
        language = notification.language
        # `priority_label` and `plan_label` are the renderer's (the policy's vocabulary).
        defaults: dict[str, Any] = {
            "plan": given.get("plan"),
            "category": None,
            "brand_name": self.brand.name,
            "brand_signature": self.brand.signature or self.brand.name,
            "support_address": self.brand.support_address,
            "ticket_url": self._ticket_url(notification.ticket_id),
        }
        context: dict[str, Any] = {**defaults, **given}
        # A value the workflow left empty (it knows no URL) is filled from the settings.
        for key, value in defaults.items():
            if context.get(key) is None:
                context[key] = value
        context["manager_name"] = given.get("manager_name") or self.brand.manager_name
        due, target = given.get("due_at"), given.get("target_seconds")
        timezone = str(given.get("timezone") or "UTC")
        context["timezone"] = timezone
        context["due_at_local"] = local_time(due, timezone) if due else None
        days = given.get("target_business_days")
        if days:
            context["target_words"] = business_days_words(int(days), language)
        else:
            context["target_words"] = duration_words(int(target), language) if target else None
        context["due_metric"] = given.get("due_metric")
        if notification.template == "csat_survey":
            context["scores"] = self._score_links(notification) or given.get("scores") or []
            context["survey_url"] = given.get("survey_url")
        if notification.template == "status_change":
            context.setdefault("previous_status", None)
            context.setdefault("new_status", given.get("status"))
        return context

    def _ticket_url(self, ticket_id: str) -> str | None:
        if not self.portal_url:
            return None
        return f"{self.portal_url.rstrip('/')}/tickets/{ticket_id}"

    def _score_links(self, notification: Notification) -> list[tuple[int, str]]:
        expires = notification.context.get("links_expire_at")
        if not (self.survey_url and self.survey_secret and expires):
            return []
        token = SurveyToken(
            ticket_id=notification.ticket_id,
            seq=notification.seq,
            expires_at=datetime.fromisoformat(expires),
        )
        return score_links(self.survey_url, self.survey_secret, token)
