"""The demo clinic (`manage.py seed_demo`, loaded by `make run`): it writes through every app's services, so it sits
above them all."""
