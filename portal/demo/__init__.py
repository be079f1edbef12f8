"""Demo data for `make run`: the accounts from the design and a month of messages."""
