"""Use cases: one function per thing a user does. Each opens its unit of work, checks access, audits."""
