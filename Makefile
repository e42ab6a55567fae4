# The two commands of the README: `make run` (the app with demo data, web, worker and beat) and `make test` (the fast
# tier, then the browser and slow tier; `make test-fast` runs the first alone).
# Both create .venv and install the pinned requirements first. With DATABASE_URL / REDIS_URL unset they start an
# embedded PostgreSQL and Redis under .data/ (see clinic/stack.py); with them set, they use those servers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench lint format audit clean-data messages

# No build isolation: xstatic-bootstrap's sdist needs the pinned setuptools (<81) from the venv to build.
$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check 'pip==26.3' 'setuptools==80.9.0' 'wheel==0.48.0'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-build-isolation -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m clinic.stack run

test: $(STAMP)
	$(BIN)/python -m clinic.stack test $(ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m clinic.stack test-fast $(ARGS)

# Benchmarks: seeds clinic_bench_s1 / _s10 on DATABASE_URL's server and measures; see bench/README.md.
bench: $(STAMP)
	$(BIN)/python -m bench.run

# mypy's Django plugin loads clinic.settings, which needs these set; it connects to nothing.
TYPECHECK_ENV := DEBUG=1 DATABASE_URL=postgres://typecheck@localhost/typecheck REDIS_URL=redis://localhost:6379/0

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && env $(TYPECHECK_ENV) $(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

# Known vulnerabilities, from PyPI's advisory data (pip-audit): first the pins as written (--no-deps --disable-pip:
# no throwaway environment to resolve them in), then the installed environment, which adds the pins' own
# dependencies. --strict makes a package that could not be checked a failure: without it, a machine that cannot
# reach the database prints "No known vulnerabilities found" having checked nothing.
AUDIT_FAILED := make audit: FAILED (see above). Vulnerabilities found are listed with the versions that fix them; \
	a package that \"could not be audited\" was not checked, usually because the vulnerability database (PyPI) \
	cannot be reached from this machine: not audited is not clean.
audit: $(STAMP)
	@$(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
		-r requirements.txt -r requirements-dev.txt || { echo "$(AUDIT_FAILED)" >&2; exit 1; }
	@$(BIN)/pip-audit --strict --skip-editable --progress-spinner off || { echo "$(AUDIT_FAILED)" >&2; exit 1; }

# The strings to translate, from templates and Python, into locale/<language>/LC_MESSAGES/django.po. Needs GNU
# gettext (xgettext, msgmerge: `apt-get install gettext`); see docs/translation.md. Nothing at run time needs it.
MESSAGES_ENV := DEBUG=1 DATABASE_URL=postgres://messages@localhost/messages REDIS_URL=redis://localhost:6379/0
messages: $(STAMP)
	env $(MESSAGES_ENV) $(BIN)/python manage.py makemessages -l es --add-location=file \
		--ignore=tests --ignore=bench --ignore=demo --ignore=staticfiles

clean-data:
	rm -rf .data
