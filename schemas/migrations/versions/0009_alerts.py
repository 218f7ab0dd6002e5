"""Alerts: one row per alert raised on a source (freshness, error rate, breaker), open until cleared, notified
once on raise and once on clear (onestop/airflow/alerts.py); and the index the health page's "loaded today" and
14-day chart read dossier versions by.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE onestop.alert (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source       text NOT NULL,
            rule         text NOT NULL,            -- freshness | error_rate | breaker
            level        text NOT NULL CHECK (level IN ('warning', 'critical')),
            message      text NOT NULL,            -- as last seen while open
            raised_at    timestamptz NOT NULL DEFAULT now(),
            cleared_at   timestamptz,
            notified_at  timestamptz               -- the last notification that went out (raise, then clear)
        );
        -- At most one open alert per source and rule: seeing the problem again does not raise it again.
        CREATE UNIQUE INDEX alert_open ON onestop.alert (source, rule) WHERE cleared_at IS NULL;
        CREATE INDEX alert_raised ON onestop.alert (raised_at DESC);
        -- Raises and clears whose notification has not gone out yet (a notifier failed): the next run retries.
        CREATE INDEX alert_unnotified ON onestop.alert (id)
            WHERE notified_at IS NULL OR notified_at < cleared_at;

        -- Dossier versions by load time (today's count, the 14-day chart). BRIN: versions are appended in load
        -- order, so a few pages summarize a day, and the merge's insert cost does not change.
        CREATE INDEX dossier_version_loaded ON onestop.dossier_version USING brin (loaded_at)
            WITH (autosummarize = on);
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX onestop.dossier_version_loaded; DROP TABLE onestop.alert")
