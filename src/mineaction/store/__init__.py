"""Persistence: SQLite (embedded default) and PostgreSQL + PostGIS behind one interface."""
