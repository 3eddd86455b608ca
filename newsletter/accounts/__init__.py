"""Staff accounts for the console: roles, argon2 passwords, sessions, login throttling, audit log.

``roles`` (who may do what), ``passwords`` (hashing), ``staff`` (add, list,
change, remove: the one implementation the CLI and the console share),
``sessions`` (log in, look up, log out; idle and absolute expiry),
``throttle`` (failed logins per address and per IP), ``audit`` (the
append-only record of what staff did).
"""
