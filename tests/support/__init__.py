"""Real servers for tests: an SMTP server on loopback (aiosmtpd) and helpers around it."""
