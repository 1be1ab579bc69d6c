"""`make bench`: throughput and latency of ticketflow against bare Temporal, in one run.

Every figure is a ratio of two measurements taken in the same process on the
same Temporal dev server, so a busy machine slows both sides alike.
"""
