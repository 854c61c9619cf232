"""The trade register (Gewerberegister, GewO §§14–15, GewAnzV): one case per business, one procedure per
notification (GewA 1–3), receipts, transmissions to the regular recipients, register extracts. Pure: no database."""
