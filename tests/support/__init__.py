"""Shared test machinery: databases, factories, sign-in helpers."""
