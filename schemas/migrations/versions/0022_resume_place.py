"""A source that keeps the reader's place itself (`rest.resume`: Microsoft Graph's delta link, Zendesk's
incremental export cursor): each run says where it started and the place its last page gave; the load keeps that
place in `onestop.watermark.cursor` (a column the first schema already had, never written) in its transaction, and
the next run starts there. A run that does not take part (a backfill, a source without `resume`) has `resumes`
false.

Revision ID: 0022
Revises: 0021
"""

from alembic import op

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE onestop.sync_run
            ADD COLUMN resumes boolean NOT NULL DEFAULT false,
            ADD COLUMN resume_from text,
            ADD COLUMN resume_next text;
        """
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE onestop.sync_run DROP COLUMN resumes, DROP COLUMN resume_from, DROP COLUMN resume_next"
    )
