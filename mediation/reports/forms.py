"""Forms of the statistics pages (a period and an org unit, as a GET form)."""
