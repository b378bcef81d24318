"""Files attached to cases (photos taken at the scene): checked, shrunk, kept under
instance/uploads/ with their metadata in the database."""
