"""Major incidents: one outage, many linked tickets, updates on cadence, resolved together."""
