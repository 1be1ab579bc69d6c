"""The desk's pure core: vocabulary, SLA time, the policy, the ticket and intake.

Nothing here does I/O or reads a clock. Subpackages, lowest first (each imports only those
before it, and `enums`/`errors`):

- `domain.sla`: business calendars, durations and SLA clock arithmetic;
- `domain.policy`: the support policy file's models, their checks, the SLA it selects;
- `domain.ticket`: the ticket aggregate, its state, actions, notifications and views;
- `domain.intake`: what the API decides before a ticket exists (routing, assignment,
  the workflow input, inbound email).
"""
