"""Forms of the agreement pages (build on mediation.pages.forms.PageForm)."""
