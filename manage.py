#!/usr/bin/env python
"""Django's command-line utility, with one clear line instead of a traceback when a service is missing."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    from clinic.errors import explain_service_errors

    with explain_service_errors():
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
