"""The fault suite (`make faults`): real processes killed, stopped and restarted.

Each case starts its own stack (Temporal dev server, worker, API, an SMTP server,
a store), breaks one part for real, and prints what it measured before it asserts.
Not collected by a plain `pytest` (testpaths = tests).
"""
