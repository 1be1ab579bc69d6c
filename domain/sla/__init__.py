"""SLA time: business calendars (`calendar`, its engine `spans`), durations as the policy
file writes them (`durations`) and the clocks of one ticket (`clocks`). Pure arithmetic."""
