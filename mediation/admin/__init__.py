"""Administration: org units, users (create, deactivate, reset password), definitions
read-only."""
