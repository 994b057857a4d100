"""Pure domain rules and geometry: no I/O, no framework."""
