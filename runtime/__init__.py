"""What the API, the worker and the commands all stand on: settings (`settings`), the
Temporal client and data converter (`temporal`), the policy file (`policy_file`) and child
processes (`processes`). Imports `domain` only, never a process or a command."""
