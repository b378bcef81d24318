"""Statistics and reports: the dashboard per org unit, the monthly report as PDF, and the
workflow page with each definition's diagram."""
