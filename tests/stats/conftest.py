"""The statistics tests reuse the API tests' fast runtime (emptied with DELETE) and cheap
password hashing: they build the contract world for every test."""

from __future__ import annotations

from tests.api.conftest import _fast_password_hashing, rt  # noqa: F401
