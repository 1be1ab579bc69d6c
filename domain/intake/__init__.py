"""What the API decides before a ticket's workflow exists: routing (`routing`), the agent
(`assignment`), the workflow input (`decide`) and inbound email (`inbound`, `quoting`)."""
