"""Alembic migrations of the master store, shipped inside the package."""
