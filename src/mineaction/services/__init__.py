"""Use cases (import, review, land release, prioritise, plan, report) on top of a Store."""
