"""eventscout: find the events and groups worth a person's time for their career."""

__version__ = "0.1.0"
