"""Item pipelines, one class a module: normalize -> classify -> store (which keys events in their
source and drops repeats, see aggregator.writer)."""
