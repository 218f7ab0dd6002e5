"""An outbox row names its dossier by uid alone: the source and the MaHoSo it repeated are the dossier's (a uid is
one source's record for good; the MaHoSo a delivery shows is the dossier's, the one the portal receives). Readers
join the dossier; `failure` is redefined so (0013's stays, renamed, for the downgrade). New rows leave the two
columns NULL — no bytes — ~45 bytes less per queued version; rows queued before keep theirs (rewriting a million
rows to empty them would only leave a million dead ones).

Revision ID: 0019
Revises: 0018
"""

import importlib

from alembic import op

revision = "0019"
down_revision = "0018"

# 0013's failures, their deliveries' source and MaHoSo read from the dossier.
_OUTBOX_0013 = """            SELECT 'delivery', 'd' || uid || '@' || version, source, 'deliver',
                   COALESCE(error_code, 'PortalError'), error, ma_ho_so, failed_at,
                   state IN ('failed', 'dead') AND resolved_at IS NULL,
                   CASE WHEN resolved_at IS NOT NULL THEN 'resolved' ELSE state END, resolved_at, resolved_by, comment,
                   1
              FROM onestop.outbox WHERE failed_at IS NOT NULL"""
_OUTBOX = """            SELECT 'delivery', 'd' || o.uid || '@' || o.version, d.source, 'deliver',
                   COALESCE(o.error_code, 'PortalError'), o.error, d.ma_ho_so, o.failed_at,
                   o.state IN ('failed', 'dead') AND o.resolved_at IS NULL,
                   CASE WHEN o.resolved_at IS NOT NULL THEN 'resolved' ELSE o.state END, o.resolved_at,
                   o.resolved_by, o.comment, 1
              FROM onestop.outbox o JOIN onestop.dossier d ON d.uid = o.uid WHERE o.failed_at IS NOT NULL"""
_0013 = importlib.import_module("schemas.migrations.versions.0013_failure_versions")
assert _OUTBOX_0013 in _0013.FAILURE_VIEW
FAILURE_VIEW = _0013.FAILURE_VIEW.replace(_OUTBOX_0013, _OUTBOX).removesuffix(";")


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE onestop.outbox ALTER COLUMN source DROP NOT NULL, ALTER COLUMN ma_ho_so DROP NOT NULL;
        COMMENT ON COLUMN onestop.outbox.source IS 'unused since 0019: the dossier''s (join on uid)';
        COMMENT ON COLUMN onestop.outbox.ma_ho_so IS 'unused since 0019: the dossier''s (join on uid)';
        ALTER VIEW onestop.failure RENAME TO failure_0013;
        {FAILURE_VIEW};
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW onestop.failure;
        ALTER VIEW onestop.failure_0013 RENAME TO failure;
        UPDATE onestop.outbox o SET source = d.source, ma_ho_so = d.ma_ho_so FROM onestop.dossier d
         WHERE d.uid = o.uid AND (o.source IS NULL OR o.ma_ho_so IS NULL);
        DELETE FROM onestop.outbox WHERE source IS NULL OR ma_ho_so IS NULL;  -- a dossier deleted by hand
        COMMENT ON COLUMN onestop.outbox.source IS NULL;
        COMMENT ON COLUMN onestop.outbox.ma_ho_so IS NULL;
        ALTER TABLE onestop.outbox ALTER COLUMN source SET NOT NULL, ALTER COLUMN ma_ho_so SET NOT NULL;
        """
    )
