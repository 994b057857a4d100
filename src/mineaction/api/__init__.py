"""The REST API under ``/api/v1`` (FastAPI routers; thin over the services)."""
