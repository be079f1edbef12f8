"""Email: what is queued in the outbox, and how it is delivered."""
