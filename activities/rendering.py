"""Email templates: Jinja2, a subject, a text part and an autoescaped HTML part per language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from domain.policy.vocabulary import Vocabulary

BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class TemplateRenderer:
    """Finds `<language>/<name>.{subject,txt,html}.j2`, falling back to English.

    An operator's override folder (same layout) is searched before the built-in one. Every
    template also gets `priority_label`, `plan_label` and `category_label`: the labels the
    policy's vocabulary (the one this worker runs with) gives the context's `priority`, `plan`
    and `category` ids in the email's language (`labels:`, else `label:`), or the ids
    themselves where it lists none.
    """

    def __init__(
        self,
        override_dir: Path | None = None,
        fallback_language: str = "en",
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self._vocabulary = vocabulary or Vocabulary()
        loaders = [FileSystemLoader(str(BUILTIN_TEMPLATES))]
        if override_dir is not None:
            loaders.insert(0, FileSystemLoader(str(override_dir)))
        self._fallback = fallback_language
        self._env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=False,
        )

    def _render(self, name: str, language: str, part: str, context: dict[str, Any]) -> str:
        for lang in dict.fromkeys([language, language.split("-")[0], self._fallback]):
            try:
                template = self._env.get_template(f"{lang}/{name}.{part}.j2")
            except TemplateNotFound:
                continue
            return template.render(**context)
        raise TemplateNotFound(f"{name}.{part} (language {language!r})")

    def labels(self, context: dict[str, Any], language: str | None = None) -> dict[str, str]:
        """`priority_label`, `plan_label` and `category_label` for `context` in `language`
        (empty when it has no such id)."""
        priority, plan = context.get("priority"), context.get("plan")
        category = context.get("category")
        vocabulary = self._vocabulary
        return {
            "priority_label": vocabulary.priority_label(priority, language) if priority else "",
            "plan_label": vocabulary.plan_label(plan, language) if plan else "",
            "category_label": vocabulary.category_label(category, language) if category else "",
        }

    def render(self, name: str, language: str, context: dict[str, Any]) -> RenderedEmail:
        context = {**self.labels(context, language), **context}
        subject = self._render(name, language, "subject", context)
        # A subject is one header line whatever the template or data did.
        subject = " ".join(subject.split())
        # An optional paragraph left out leaves its blank lines: never more than one in a row.
        text = _BLANK_LINES.sub("\n\n", self._render(name, language, "txt", context))
        return RenderedEmail(
            subject=subject,
            text=text,
            html=self._render(name, language, "html", context),
        )
