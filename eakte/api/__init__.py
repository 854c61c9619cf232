"""The REST API blueprint (/api/v1) and its error mapping."""
