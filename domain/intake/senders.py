"""Who may reply to a ticket by email, and which mail is automatic.

Pure code. A reply threads into a ticket only when its sender is on the ticket (the
requester); any other sender is an `unknown_sender`, and the policy's
`inbound.unknown_sender` decides. Automatic mail (RFC 3834 `Auto-Submitted` other than
`no`, `Precedence: bulk/junk/list`, or mail from our own address) is acted on by nothing
that sends email: answering it is how two auto-responders loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class NotThreaded(StrEnum):
    """Why an email did not land where it claimed to belong."""

    UNKNOWN_SENDER = "unknown_sender"
    AUTO_SUBMITTED = "auto_submitted"
    BULK = "bulk"
    OWN_ADDRESS = "own_address"


BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.casefold() == name.casefold():
            return value.strip()
    return ""


def automatic(
    headers: Mapping[str, str], sender: str, own_addresses: Iterable[str]
) -> NotThreaded | None:
    """Why this mail is automatic, or None for mail a person sent."""
    auto_submitted = _header(headers, "Auto-Submitted").split(";")[0].strip().casefold()
    if auto_submitted and auto_submitted != "no":
        return NotThreaded.AUTO_SUBMITTED
    if _header(headers, "Precedence").casefold() in BULK_PRECEDENCE:
        return NotThreaded.BULK
    if sender.casefold() in {address.casefold() for address in own_addresses}:
        return NotThreaded.OWN_ADDRESS
    return None


def on_ticket(sender: str, addresses: Iterable[str]) -> bool:
    """Whether `sender` is one of the ticket's addresses (case-insensitive, as mail is)."""
    return sender.casefold() in {address.casefold() for address in addresses}
