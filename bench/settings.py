"""The app's settings with the bench URLs added (a trivial view to compare pages against). clinic/ is untouched."""

from clinic.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
