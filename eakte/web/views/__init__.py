"""One blueprint per area of the interface."""
