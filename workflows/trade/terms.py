"""The trade register's terms, shared by the case type and its rules (no imports of the other modules)."""
from __future__ import annotations

NOTIFICATIONS = ("anmeldung", "ummeldung", "abmeldung")  # GewA 1, GewA 2, GewA 3
NOTIFICATION_LABELS = {"anmeldung": "Gewerbeanmeldung (GewA 1)", "ummeldung": "Gewerbeummeldung (GewA 2)",
                       "abmeldung": "Gewerbeabmeldung (GewA 3)"}
BUSINESS_TYPES = ("industrie", "handwerk", "handel", "sonstiges")
STATUSES = ("pending", "active", "closed")  # pending: notified, not yet entered
RECEIPT_KIND = "receipt"
TRANSMISSION_KIND = "transmission"
NOTIFICATION_KIND = "notification"  # the notification as received: the scanned paper form or the submitted data
