"""Pure planning core: model, list scheduling, local search, bounds, forecasts (issue 7)."""
