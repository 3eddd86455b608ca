"""Delivery: the outbox in the database, MIME assembly, SMTP transport, the worker."""
