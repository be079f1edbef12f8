"""Secure messages: sending, reading, recall, and the queries that list them."""
