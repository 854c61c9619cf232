"""eakte: electronic records management (E-Akte) with case workflows for German municipalities."""

__version__ = "0.1.0"
