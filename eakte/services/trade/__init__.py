"""The trade register's services (case type `trade`, workflows/trade): intake of notifications, the register
entry and its history, receipts and extracts as PDF/A, transmissions to the recipients, retrieval logs."""
