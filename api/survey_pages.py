# ruff: noqa: RUF001 - Macedonian text is Cyrillic on purpose
"""The small HTML pages a one-click survey link answers with, in the ticket's language.

Self-contained (inline styles, no external resources), like the emails. Unknown languages
get English.
"""

from __future__ import annotations

import html
from typing import Literal

Page = Literal["thanks", "already", "expired", "invalid", "unavailable"]

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "thanks": "Thank you! We recorded your rating of {score} out of 5 for ticket {ticket}.",
        "low": "We are sorry we fell short. A manager will get in touch with you.",
        "already": "This survey has already been answered. Thank you for your feedback.",
        "expired": "This survey link has expired. You can still reply to our email.",
        "invalid": "This survey link is not valid.",
        "unavailable": "We could not record your rating just now. Please try the link again.",
        "title": "Thank you",
    },
    "ms": {
        "thanks": "Terima kasih! Penilaian anda, {score} daripada 5, untuk tiket {ticket} "
        "telah direkodkan.",
        "low": "Kami memohon maaf kerana tidak memenuhi jangkaan anda. Seorang pengurus "
        "akan menghubungi anda.",
        "already": "Tinjauan ini telah pun dijawab. Terima kasih atas maklum balas anda.",
        "expired": "Pautan tinjauan ini telah tamat tempoh. Anda masih boleh membalas e-mel kami.",
        "invalid": "Pautan tinjauan ini tidak sah.",
        "unavailable": "Kami tidak dapat merekodkan penilaian anda sekarang. Sila cuba lagi.",
        "title": "Terima kasih",
    },
    "mk": {
        "thanks": "Ви благодариме! Ја забележавме вашата оцена {score} од 5 за тикетот {ticket}.",
        "low": "Жал ни е што не ги исполнивме очекувањата. Раководител ќе ве контактира.",
        "already": "На оваа анкета веќе е одговорено. Ви благодариме за повратната информација.",
        "expired": "Врската кон анкетата истече. Сè уште можете да одговорите на нашата порака.",
        "invalid": "Оваа врска кон анкетата не е важечка.",
        "unavailable": "Моментално не можевме да ја забележиме оцената. Обидете се повторно.",
        "title": "Ви благодариме",
    },
    "sq": {
        "thanks": "Faleminderit! E regjistruam vlerësimin tuaj {score} nga 5 për biletën {ticket}.",
        "low": "Na vjen keq që nuk i përmbushëm pritjet. Një menaxher do t'ju kontaktojë.",
        "already": "Kësaj ankete i është përgjigjur tashmë. Faleminderit për mendimin tuaj.",
        "expired": "Kjo lidhje e anketës ka skaduar. Mund t'i përgjigjeni ende emailit tonë.",
        "invalid": "Kjo lidhje e anketës nuk është e vlefshme.",
        "unavailable": "Nuk arritëm ta regjistrojmë vlerësimin tani. Ju lutemi provoni sërish.",
        "title": "Faleminderit",
    },
    "es": {
        "thanks": "¡Gracias! Hemos registrado su valoración de {score} sobre 5 para el ticket "
        "{ticket}.",
        "low": "Lamentamos no haber estado a la altura. Un responsable se pondrá en contacto "
        "con usted.",
        "already": "Esta encuesta ya ha sido respondida. Gracias por su opinión.",
        "expired": "Este enlace de la encuesta ha caducado. Todavía puede responder a nuestro "
        "correo.",
        "invalid": "Este enlace de la encuesta no es válido.",
        "unavailable": "No hemos podido registrar su valoración ahora. Inténtelo de nuevo.",
        "title": "Gracias",
    },
    "fr": {
        "thanks": "Merci ! Nous avons bien enregistré votre note de {score} sur 5 pour le ticket "
        "{ticket}.",
        "low": "Nous sommes désolés de ne pas avoir été à la hauteur. Un responsable va vous "
        "contacter.",
        "already": "Ce questionnaire a déjà reçu une réponse. Merci pour votre retour.",
        "expired": "Ce lien de questionnaire a expiré. Vous pouvez toujours répondre à notre "
        "e-mail.",
        "invalid": "Ce lien de questionnaire n'est pas valide.",
        "unavailable": "Nous n'avons pas pu enregistrer votre note. Veuillez réessayer.",
        "title": "Merci",
    },
}


def survey_page(
    page: Page,
    language: str,
    *,
    score: int | None = None,
    ticket_id: str | None = None,
    low: bool = False,
) -> str:
    """The page, escaped, in `language` (or its base language, else English)."""
    lang = language if language in _TEXT else language.split("-")[0]
    if lang not in _TEXT:
        lang = "en"
    text = _TEXT[lang]
    message = text[page].format(score=score, ticket=ticket_id)
    lines = [message, text["low"]] if page == "thanks" and low else [message]
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(text['title'])}</title></head>"
        '<body style="margin:0;padding:32px 16px;font-family:Arial,Helvetica,sans-serif;'
        'font-size:16px;line-height:1.5;color:#222222;text-align:center">'
        f"{body}</body></html>"
    )
