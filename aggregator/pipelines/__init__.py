"""Item pipelines, one class a module: normalize -> classify -> dedup -> store."""
