"""A quarantined record's line in the failure list names its first failing field, not only the reason: `status:
unknown value '99'`, not `unknown value '99'` (and "missing" alone, for most records, said nothing). The console
splits the two at the first ": " (a canonical field's name never holds one).

Revision ID: 0020
Revises: 0019
"""

import importlib

from alembic import op

revision = "0020"
down_revision = "0019"

REASON_ONLY = "q.errors -> 0 ->> 'reason' AS message"
# A field (the first error's) and its reason; the reason alone where an older row's errors name no field.
FIELD_AND_REASON = "concat_ws(': ', NULLIF(q.errors -> 0 ->> 'field', ''), NULLIF(q.errors -> 0 ->> 'reason', '')) AS message"
_0019 = importlib.import_module("schemas.migrations.versions.0019_outbox_by_uid")
assert _0019.FAILURE_VIEW.count(REASON_ONLY) == 1
FAILURE_VIEW = _0019.FAILURE_VIEW.replace(REASON_ONLY, FIELD_AND_REASON)


def upgrade() -> None:
    op.execute(FAILURE_VIEW.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))


def downgrade() -> None:
    op.execute(_0019.FAILURE_VIEW.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
