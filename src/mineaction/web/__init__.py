"""Web adapters: FastAPI app, pages, REST and OGC API."""
