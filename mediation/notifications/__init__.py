"""Notices to the people responsible for a case: an in-app inbox, and gateways (SMS, a dispatch
platform, the police post) plugged in behind the same interface (:mod:`.channels`)."""
