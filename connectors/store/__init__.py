"""The unified PostgreSQL database: staging, the merge, quarantine, the outbox, runs and attempts.

All SQL of the product lives here, next to the tables it speaks of (schemas/migrations)."""
