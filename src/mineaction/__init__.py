"""mineaction: open information management and planning for humanitarian mine action."""

__version__ = "0.1.0"
