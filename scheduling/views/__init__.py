"""Front desk's pages and the patient's, by job: ``schedule`` (today, day, week, unconfirmed), ``cover``,
``patients``, ``booking`` (one session or a series), ``appointments`` (one appointment, its steps and calendar
file), ``session_day``, ``rems``, ``waitlist``, ``reminders`` (the patient's reminder links, failed reminders) and
``patient`` (the patient's own appointments). What they share is ``pages``. The URL names are in the app's URL
modules (``urls``, ``patient_urls``, ``reminder_urls``)."""
