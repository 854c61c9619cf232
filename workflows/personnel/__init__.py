"""The personnel file (Personalakte, DOMAIN.md §5): one file per employee with its sub-files, the strictest access
rules of the system, the hearing before an adverse item is filed and its removal."""
