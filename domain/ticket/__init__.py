"""One ticket: `Ticket` (`aggregate`) applies every action and what time does, calling one
module per concern (`transitions`, `clocks`, `escalation`, `customer`, `timers`), each of
them functions over a `Change` (`change`): the state so far and the effects to record and
send. `state`, `actions`, `notifications`, `views` and `requests` are the data it deals in."""
