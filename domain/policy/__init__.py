"""The support policy: its parts (`models`), the whole file and its validation (`support`),
the cross-reference checks (`checks`) and the SLA a new ticket gets (`selection`).

Pure: reading the YAML file is the runtime's job (`runtime.policy_file`)."""
