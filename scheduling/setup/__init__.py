"""The clinic admin's set-up pages (linked from Clinic settings): places (locations, hours, closures, chairs and
rooms), people (staff invitations, clinicians' locations, working hours and time off) and protocols (treatment
types). Views parse and render; every change is a ``scheduling.services`` function that keeps the calendar guards."""
