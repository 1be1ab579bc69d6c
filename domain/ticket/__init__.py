"""One ticket: `Ticket` (`aggregate`) applies every action and what time does, calling one
module per concern (`agent`, `customer`, `transitions`, `clocks`, `escalation`, `timers`),
each of them functions over a `Change` (`change`): the state so far and the effects to
record and send. `state`, `requests`, `actions`, `notifications`, `ladder` and `views` are
the data it deals in."""
