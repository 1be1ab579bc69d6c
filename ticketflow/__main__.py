"""`python -m ticketflow …`, the same as the `ticketflow` console script."""

from ticketflow.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
