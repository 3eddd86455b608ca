# The two commands of the README. Each installs what it needs on first use.
# `make test`: ruff, mypy --strict, the layering contract (import-linter, see pyproject.toml), pytest.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Independent checkers of our mail (tests skip, saying why, when they are absent).
MAIL_CHECKERS := /usr/bin/spamassassin /usr/share/perl5/Mail/DKIM/Verifier.pm
# A real IMAP server for the bounce-mailbox tests (run unprivileged on loopback by the tests).
MAIL_SERVERS := /usr/sbin/dovecot

.PHONY: run test lint

run: $(VENV)/.installed
	$(BIN)/newsletter run

test: $(VENV)/.installed /usr/bin/chromium $(MAIL_CHECKERS) $(MAIL_SERVERS)
	$(BIN)/ruff check newsletter tests benchmarks scripts scheduler.py
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Browser tests drive Debian's Chromium (never a downloaded browser).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Deliverability tests: Debian's SpamAssassin (offline, -L) and Perl's Mail::DKIM verifier.
/usr/bin/spamassassin:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spamassassin

/usr/share/perl5/Mail/DKIM/Verifier.pm:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmail-dkim-perl

# The tests run their own Dovecot (private config, free loopback port), never the packaged service.
/usr/sbin/dovecot:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd
