"""The built-in email templates, rendered by the real `TemplateRenderer` in every language."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, meta
from pydantic import ValidationError

from activities.rendering import BUILTIN_TEMPLATES, RenderedEmail, TemplateRenderer
from domain.policy.vocabulary import PlanSpec, PrioritySpec, Vocabulary

LANGUAGES = ("en", "ms", "mk", "sq", "es", "fr")
TRANSLATIONS = LANGUAGES[1:]
PARTS = ("subject", "txt", "html")
TICKET_TAG = "[TKT-000042]"
SCRIPT = "<script>alert(1)</script>"
README = BUILTIN_TEMPLATES / "README.md"
REQUESTER = "Ana Novak"

COMMON_VARIABLES = frozenset(
    {
        "ticket_id",
        "subject",
        "priority",
        "priority_label",
        "status",
        "requester_name",
        "plan",
        "plan_label",
        "category",
        "timezone",
        "due_at",
        "due_metric",
        "due_at_local",
        "target_seconds",
        "target_words",
        "brand_name",
        "brand_signature",
        "support_address",
        "manager_name",
        "ticket_url",
    }
)
EXTRA_VARIABLES: dict[str, frozenset[str]] = {
    "acknowledgment": frozenset({"first_response_due_at"}),
    "agent_reply": frozenset({"body", "agent_name"}),
    "request_info": frozenset({"body", "agent_name"}),
    "awaiting_reminder": frozenset(),
    "resolution": frozenset({"resolution", "agent_name"}),
    "auto_close_notice": frozenset(),
    "escalation_notice": frozenset({"level", "level_name"}),
    "escalation_alert": frozenset(
        {
            "level",
            "level_name",
            "reason",
            "plan",
            "agent",
            "impact",
            "actions_taken",
            "sla_summary",
            "ticket_url",
        }
    ),
    "sla_breach_apology": frozenset({"metric", "credit"}),
    "csat_survey": frozenset({"survey_url", "scores"}),
    "low_csat_followup": frozenset({"score", "comment", "manager_name", "credit"}),
    "status_change": frozenset({"previous_status", "new_status"}),
    "refund_confirmation": frozenset(
        {"approval_id", "kind", "amount", "plan", "settle_days", "effective_at"}
    ),
    "approval_denied": frozenset({"approval_id", "kind", "amount", "comment"}),
    "approval_request": frozenset(
        {
            "approval_id",
            "kind",
            "amount",
            "reason",
            "role",
            "escalated_from",
            "overdue",
            "failed",
        }
    ),
    "incident_update": frozenset({"body", "incident_id", "incident_status"}),
    "incident_escalation": frozenset({"level_name", "reason", "component", "commander", "linked"}),
}
TEMPLATES = tuple(EXTRA_VARIABLES)
INTERNAL = frozenset({"escalation_alert", "approval_request", "incident_escalation"})
CUSTOMER = tuple(name for name in TEMPLATES if name not in INTERNAL)
# These subjects are only the ticket tag and the ticket's own subject, in every language.
UNTRANSLATED_SUBJECTS = frozenset({"acknowledgment", "agent_reply"})

SCORE_URLS = [
    (score, f"https://desk.example/csat?t=TKT-000042&score={score}") for score in range(1, 6)
]
BASE_CONTEXT: dict[str, Any] = {
    "ticket_id": "TKT-000042",
    "subject": "Invoice 7731 not received",
    "priority": "P2",
    "status": "open",
    "requester_name": REQUESTER,
    "plan": "professional",
    "category": "billing",
    "timezone": "Europe/Skopje",
    "due_at": None,
    "due_metric": None,
    "due_at_local": None,
    "target_seconds": None,
    "target_words": None,
    # The brand is tested on its own below: here the templates' neutral fallbacks.
    "brand_name": None,
    "brand_signature": None,
    "support_address": None,
    "manager_name": None,
    "ticket_url": None,
}
FULL_EXTRA: dict[str, dict[str, Any]] = {
    "acknowledgment": {
        "first_response_due_at": "2026-11-23 10:59 UTC",
        "due_at": "2026-11-23T10:59:00+00:00",
        "due_metric": "first_response",
        "due_at_local": "2026-11-23 11:59 (Europe/Skopje)",
        "target_seconds": 14400,
        "target_words": "4 hours",
        "ticket_url": "https://desk.example/t/TKT-000042",
    },
    "agent_reply": {"body": f"Step 1: resync {SCRIPT}", "agent_name": "Alice Tan"},
    "request_info": {"body": f"Invoice number? {SCRIPT}", "agent_name": "Alice Tan"},
    "awaiting_reminder": {},
    "resolution": {"resolution": f"Resynced invoice 7731 {SCRIPT}", "agent_name": "Alice Tan"},
    "auto_close_notice": {},
    "escalation_notice": {"level": 2, "level_name": "L2 Specialists"},
    "escalation_alert": {
        "level": 2,
        "level_name": "L2 Specialists",
        "reason": f"VIP account, invoicing blocked {SCRIPT}",
        "plan": "enterprise",
        "agent": "alice",
        "impact": "Invoicing blocked for 40 users",
        "actions_taken": ["Restarted sync job", "Collected logs"],
        "sla_summary": "resolution 80% elapsed, due 2026-11-23 14:00 UTC",
        "ticket_url": "https://desk.example/t/TKT-000042",
    },
    "sla_breach_apology": {"metric": "first_response", "credit": "$50.00"},
    "csat_survey": {"survey_url": "https://desk.example/survey/TKT-000042", "scores": SCORE_URLS},
    "low_csat_followup": {
        "score": 2,
        "comment": f"Far too slow {SCRIPT}",
        "manager_name": "Maja Petrova",
        "credit": "$100.00",
    },
    "refund_confirmation": {
        "approval_id": "TKT-000042-R1",
        "kind": "refund",
        "amount": "$149.00",
        "plan": "professional",
        "settle_days": 3,
        "effective_at": "2026-12-07 10:00 UTC",
    },
    "approval_denied": {
        "approval_id": "TKT-000042-R1",
        "kind": "refund",
        "amount": "$600.00",
        "comment": f"Outside the 30-day guarantee {SCRIPT}",
    },
    "approval_request": {
        "approval_id": "TKT-000042-R1",
        "kind": "refund",
        "amount": "$2,500.00",
        "reason": f"Annual plan charged twice {SCRIPT}",
        "role": "finance_director",
        "due_at": "2026-12-01T10:00:00+00:00",
        "due_at_local": "2026-12-01 11:00 (Europe/Skopje)",
        "escalated_from": "support_manager",
        "overdue": False,
        "failed": None,
    },
    "status_change": {"previous_status": "open", "new_status": "on_hold"},
    "incident_update": {
        "body": f"Payments are failing for some customers {SCRIPT}",
        "incident_id": "INC-000001",
        "incident_status": "identified",
    },
    "incident_escalation": {
        "level_name": "Management",
        "reason": f"update breached {SCRIPT}",
        "component": "payments-api",
        "commander": "alice",
        "linked": 120,
    },
}
# The values that may be None (or empty) set so; the rest as in FULL_EXTRA.
EMPTY_OPTIONALS: dict[str, dict[str, Any]] = {
    "acknowledgment": {
        "first_response_due_at": None,
        "due_at": None,
        "due_metric": None,
        "due_at_local": None,
        "target_seconds": None,
        "target_words": None,
        "ticket_url": None,
    },
    "agent_reply": {"agent_name": None},
    "request_info": {"agent_name": None},
    "resolution": {"agent_name": None},
    "escalation_alert": {"agent": None, "impact": None, "actions_taken": [], "ticket_url": None},
    "csat_survey": {"survey_url": None, "scores": []},
    "low_csat_followup": {"comment": None, "manager_name": None, "credit": None},
    "sla_breach_apology": {"credit": None},
    "refund_confirmation": {"effective_at": None},
    "approval_denied": {"comment": None},
    "approval_request": {
        "due_at": None,
        "due_at_local": None,
        "escalated_from": None,
        "failed": None,
    },
    "incident_escalation": {"commander": None},
}
VARIANTS = ("full", "empty")

GREETING: dict[str, tuple[str, str]] = {
    "en": (f"Hello {REQUESTER},", "Hello there,"),
    "ms": (f"Salam sejahtera {REQUESTER},", "Salam sejahtera Tuan/Puan,"),
    # The greeting's "/a" is the Cyrillic feminine ending ("Dear Mr/Ms"), not a Latin letter.
    "mk": (f"Почитуван/а {REQUESTER},", "Почитувани,"),  # noqa: RUF001
    "sq": (f"Përshëndetje {REQUESTER},", "Përshëndetje,"),
    "es": (f"Hola, {REQUESTER}:", "Hola:"),
    "fr": (f"Bonjour {REQUESTER},", "Bonjour,"),
}
# Words of our English templates that a translated email must not contain.
ENGLISH_MARKERS = ("hello", "please", "thank", "support team", "ticket", "reply", "email")
# Words the language itself uses: Spanish and French say "ticket", Albanian "email".
OWN_WORDS = {"es": {"ticket"}, "fr": {"ticket"}, "sq": {"email"}}
CYRILLIC = re.compile("[\u0400-\u04ff]")
VOID_ELEMENTS = frozenset({"br", "meta", "hr", "img", "input", "link"})


def context(name: str, variant: str = "full") -> dict[str, Any]:
    ctx = {**BASE_CONTEXT, **FULL_EXTRA[name]}
    if variant == "empty":
        ctx.update(requester_name=None, **EMPTY_OPTIONALS.get(name, {}))
    return ctx


def render(
    name: str, language: str, variant: str = "full", renderer: TemplateRenderer | None = None
) -> RenderedEmail:
    return (renderer or TemplateRenderer()).render(name, language, context(name, variant))


class _TagBalance(HTMLParser):
    """Records unbalanced tags: an end tag that closes nothing open, or a tag left open."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID_ELEMENTS:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> while open: {self.open}")
        else:
            self.open.pop()


# -- the set of files and the variables they use -------------------------------------------------


def test_builtin_templates_are_exactly_every_part_of_every_template_in_every_language() -> None:
    expected = {
        f"{language}/{name}.{part}.j2"
        for language in LANGUAGES
        for name in TEMPLATES
        for part in PARTS
    }
    found = {
        path.relative_to(BUILTIN_TEMPLATES).as_posix() for path in BUILTIN_TEMPLATES.rglob("*.j2")
    }
    assert found == expected


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_use_only_the_documented_variables(language: str, name: str) -> None:
    # Rendering checks the branches a context takes; parsing checks every branch.
    allowed = COMMON_VARIABLES | EXTRA_VARIABLES[name]
    for part in PARTS:
        source = (BUILTIN_TEMPLATES / language / f"{name}.{part}.j2").read_text(encoding="utf-8")
        used = meta.find_undeclared_variables(Environment(autoescape=True).parse(source))
        assert used <= allowed, f"{language}/{name}.{part}: undocumented {used - allowed}"


def test_readme_documents_every_template_and_variable() -> None:
    readme = README.read_text(encoding="utf-8")
    for name, variables in EXTRA_VARIABLES.items():
        assert f"`{name}`" in readme, name
        for variable in variables | COMMON_VARIABLES:
            assert f"`{variable}`" in readme, variable
    assert "templates_dir" in readme


# -- every template renders ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_renders_with_full_and_empty_optional_values(
    name: str, language: str, variant: str
) -> None:
    rendered = render(name, language, variant)
    assert rendered.subject.strip()
    assert rendered.text.strip()
    assert rendered.html.strip()
    for part in (rendered.subject, rendered.text, rendered.html):
        # An optional value left out must not show up as Python's None.
        assert "None" not in part
        assert TICKET_TAG.strip("[]") in part
    assert TICKET_TAG in rendered.subject


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", TEMPLATES)
def test_subjects_are_one_line(name: str, language: str) -> None:
    source = (BUILTIN_TEMPLATES / language / f"{name}.subject.j2").read_text(encoding="utf-8")
    assert "\n" not in source.strip()
    for variant in VARIANTS:
        subject = render(name, language, variant).subject
        assert "\n" not in subject
        assert "\r" not in subject
        assert subject == subject.strip()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", CUSTOMER)
def test_customer_emails_greet_by_name_and_say_how_to_reply(
    name: str, language: str, variant: str
) -> None:
    rendered = render(name, language, variant)
    with_name, fallback = GREETING[language]
    greeting = with_name if variant == "full" else fallback
    assert rendered.text.splitlines()[0] == greeting
    assert f"<p>{greeting}</p>" in rendered.html
    # The reply instruction quotes the tag that threads a reply to the ticket.
    assert TICKET_TAG in rendered.text
    assert TICKET_TAG in rendered.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_internal_escalation_alert_is_tagged_for_the_team(language: str) -> None:
    rendered = render("escalation_alert", language)
    subject = r"^\[[^\]:]+: L2 Specialists\] \[TKT-000042\] Invoice 7731 not received$"
    assert re.match(subject, rendered.subject)
    for part in (rendered.text, rendered.html):
        assert "L2 Specialists" in part
        assert "enterprise" in part
        assert "alice" in part
        assert "Invoicing blocked for 40 users" in part
        assert "resolution 80% elapsed" in part
        assert "Restarted sync job" in part
        assert "Collected logs" in part
        assert "https://desk.example/t/TKT-000042" in part
    empty = render("escalation_alert", language, "empty")
    assert "Restarted sync job" not in empty.text
    assert "https://desk.example/t/" not in empty.html


# -- translations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("language", TRANSLATIONS)
@pytest.mark.parametrize("name", TEMPLATES)
def test_translations_are_really_translated(name: str, language: str, variant: str) -> None:
    english = render(name, "en", variant)
    translated = render(name, language, variant)
    assert translated.text != english.text
    assert translated.html != english.html
    if name not in UNTRANSLATED_SUBJECTS:
        assert translated.subject != english.subject
    for part in (translated.subject, translated.text, translated.html):
        lowered = part.lower()
        markers = [m for m in ENGLISH_MARKERS if m not in OWN_WORDS.get(language, set())]
        leftovers = [marker for marker in markers if marker in lowered]
        assert not leftovers, f"English left in {language}/{name}: {leftovers}"
    assert f'<html lang="{language}">' in translated.html
    if language == "mk":
        assert CYRILLIC.search(translated.text)
        assert CYRILLIC.search(translated.html)
        if name not in UNTRANSLATED_SUBJECTS:
            assert CYRILLIC.search(translated.subject)
    else:
        assert not CYRILLIC.search(translated.text + translated.html + translated.subject)


@pytest.mark.parametrize("language", LANGUAGES)
def test_sla_breach_apology_phrases_each_metric_in_its_own_words(language: str) -> None:
    texts = {}
    for metric in ("first_response", "next_update", "resolution", "something_new"):
        ctx = {**context("sla_breach_apology"), "metric": metric}
        rendered = TemplateRenderer().render("sla_breach_apology", language, ctx)
        assert metric not in rendered.text
        assert metric not in rendered.html
        texts[metric] = rendered.text
    assert len(set(texts.values())) == 4


@pytest.mark.parametrize("language", LANGUAGES)
def test_csat_survey_links_every_score_or_asks_for_a_reply(language: str) -> None:
    full = render("csat_survey", language)
    for score, url in SCORE_URLS:
        assert f"{score} (" in full.text
        assert url in full.text
        assert f'href="{html.escape(url)}"' in full.html
    assert "https://desk.example/survey/TKT-000042" in full.text
    assert 'href="https://desk.example/survey/TKT-000042"' in full.html
    empty = render("csat_survey", language, "empty")
    assert "https://" not in empty.text + empty.html
    # Without links the customer is asked instead to reply with a number from 1 to 5.
    anonymous = {**context("csat_survey"), "requester_name": None}
    with_links = TemplateRenderer().render("csat_survey", language, anonymous).text
    only_without_links = set(empty.text.split("\n\n")) - set(with_links.split("\n\n"))
    assert len(only_without_links) == 1
    assert re.search(r"\b1\b.*\b5\b", only_without_links.pop())


@pytest.mark.parametrize("language", LANGUAGES)
def test_low_csat_followup_quotes_the_comment_and_names_the_manager(language: str) -> None:
    full = render("low_csat_followup", language)
    assert "Maja Petrova" in full.text
    assert "Maja Petrova" in full.html
    assert "Far too slow" in full.text
    assert " 2 " in full.text
    empty = render("low_csat_followup", language, "empty")
    assert "Far too slow" not in empty.text
    assert "<blockquote" not in empty.html


# -- escaping and HTML -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("agent_reply", "body"),
        ("request_info", "body"),
        ("resolution", "resolution"),
        ("low_csat_followup", "comment"),
        ("escalation_alert", "reason"),
        ("approval_denied", "comment"),
        ("approval_request", "reason"),
    ],
)
def test_html_escapes_free_text_and_the_text_part_keeps_it(
    name: str, field: str, language: str
) -> None:
    value = FULL_EXTRA[name][field]
    assert SCRIPT in value
    rendered = render(name, language)
    assert value in rendered.text
    assert SCRIPT not in rendered.html
    assert html.escape(value, quote=False) in rendered.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_html_escapes_the_ticket_subject_and_requester_name(language: str) -> None:
    ctx = {**context("acknowledgment"), "subject": SCRIPT, "requester_name": "<b>Ana</b>"}
    rendered = TemplateRenderer().render("acknowledgment", language, ctx)
    assert SCRIPT in rendered.text
    assert "<b>Ana</b>" in rendered.text
    assert SCRIPT not in rendered.html
    assert "<b>Ana</b>" not in rendered.html
    assert "&lt;b&gt;Ana&lt;/b&gt;" in rendered.html


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", TEMPLATES)
def test_html_is_balanced_inline_styled_and_loads_nothing(
    name: str, language: str, variant: str
) -> None:
    page = render(name, language, variant).html
    checker = _TagBalance()
    checker.feed(page)
    checker.close()
    assert checker.errors == []
    assert checker.open == []
    assert page.startswith("<!DOCTYPE html>")
    for forbidden in ("<script", "<style", "<link", "<img", " src=", "url("):
        assert forbidden not in page.lower()


# -- language fallback and operator overrides ------------------------------------------------------


@pytest.mark.parametrize("name", TEMPLATES)
def test_unknown_language_falls_back_to_english(name: str) -> None:
    english = render(name, "en")
    assert render(name, "xx") == english
    assert render(name, "pt-BR") == english


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_a_regional_language_tag_uses_its_base_language(language: str) -> None:
    regional = render("resolution", f"{language}-XX")
    assert regional == render("resolution", language)
    assert regional != render("resolution", "en")


def test_an_override_folder_replaces_just_that_template(tmp_path: Path) -> None:
    (tmp_path / "ms").mkdir()
    (tmp_path / "ms" / "resolution.subject.j2").write_text(
        "Kes ditutup [{{ ticket_id }}]\n", encoding="utf-8"
    )
    builtin = TemplateRenderer()
    overridden = TemplateRenderer(override_dir=tmp_path)

    resolution = render("resolution", "ms", renderer=overridden)
    assert resolution.subject == "Kes ditutup [TKT-000042]"
    assert resolution.text == render("resolution", "ms", renderer=builtin).text
    assert resolution.html == render("resolution", "ms", renderer=builtin).html
    for name, language in [("resolution", "en"), ("resolution", "mk"), ("agent_reply", "ms")]:
        assert render(name, language, renderer=overridden) == render(
            name, language, renderer=builtin
        )


def test_templates_get_the_labels_of_the_policys_priority_and_plan(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "acknowledgment.subject.j2").write_text(
        "[{{ priority_label }}] {{ subject }} ({{ plan_label }} plan)\n", encoding="utf-8"
    )
    vocabulary = Vocabulary(
        priorities=[PrioritySpec(id="P0", label="Critical", rank=0)],
        plans=[PlanSpec(id="enterprise", label="Enterprise Plus")],
    )
    renderer = TemplateRenderer(override_dir=tmp_path, vocabulary=vocabulary)
    ctx = {**context("acknowledgment"), "priority": "P0", "plan": "enterprise"}
    rendered = renderer.render("acknowledgment", "en", ctx)
    assert rendered.subject == f"[Critical] {ctx['subject']} (Enterprise Plus plan)"
    # An id the vocabulary does not list shows as itself; the built-in templates still render.
    assert renderer.labels({"priority": "P7"}) == {
        "priority_label": "P7",
        "plan_label": "",
        "category_label": "",
    }
    assert TemplateRenderer(vocabulary=vocabulary).render("acknowledgment", "en", ctx).text
    assert TemplateRenderer().labels({"priority": "P1", "plan": "starter", "category": "x"}) == {
        "priority_label": "Critical",
        "plan_label": "Starter",
        "category_label": "x",
    }


def test_labels_follow_the_emails_language_and_fall_back_to_the_label(tmp_path: Path) -> None:
    for language in ("en", "es"):
        (tmp_path / language).mkdir()
        (tmp_path / language / "acknowledgment.subject.j2").write_text(
            "[{{ priority_label }}] ({{ plan_label }})\n", encoding="utf-8"
        )
    vocabulary = Vocabulary.model_validate(
        {
            "priorities": [
                {"id": "P0", "label": "Critical Outage", "labels": {"es": "Caída crítica"},
                 "rank": 0},
            ],
            "plans": [{"id": "enterprise", "label": "Enterprise"}],
        }
    )  # fmt: skip
    renderer = TemplateRenderer(override_dir=tmp_path, vocabulary=vocabulary)
    ctx = {**context("acknowledgment"), "priority": "P0", "plan": "enterprise"}
    assert renderer.render("acknowledgment", "es", ctx).subject == "[Caída crítica] (Enterprise)"
    assert renderer.render("acknowledgment", "es-MX", ctx).subject == "[Caída crítica] (Enterprise)"
    assert renderer.render("acknowledgment", "en", ctx).subject == "[Critical Outage] (Enterprise)"
    # German has no label of its own (and no template): English template, English label.
    assert renderer.render("acknowledgment", "de", ctx).subject == "[Critical Outage] (Enterprise)"
    with pytest.raises(ValidationError, match="labels"):
        Vocabulary.model_validate(
            {"priorities": [{"id": "P1", "labels": {"Spanish!": "Alta"}, "rank": 1}]}
        )
