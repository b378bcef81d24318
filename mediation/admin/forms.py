"""Forms of the administration pages (build on mediation.pages.forms.PageForm)."""
