"""The dossier's lookups by value are equality only (the trace by record id, MaHoSo or citizen-ID hash): hash
indexes keep a 4-byte code per row where a B-tree kept the whole text (a 64-hex HMAC: 122 bytes per dossier).
On 28,867 dossiers: 275 bytes per dossier of these three indexes became 108, and each merge writes less.

(source, source_record_id) needs no unique index of its own: the primary key `uid` is a digest of exactly that
pair (schemas.dossier.dossier_uid), so a second row for one pair cannot exist.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE onestop.dossier DROP CONSTRAINT dossier_source_source_record_id_key;
        CREATE INDEX dossier_record_id ON onestop.dossier USING hash (source_record_id);
        DROP INDEX onestop.dossier_applicant;
        CREATE INDEX dossier_applicant ON onestop.dossier USING hash (applicant_id_hash);
        DROP INDEX onestop.dossier_ma_ho_so;
        CREATE INDEX dossier_ma_ho_so ON onestop.dossier USING hash (ma_ho_so);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX onestop.dossier_ma_ho_so;
        CREATE INDEX dossier_ma_ho_so ON onestop.dossier (ma_ho_so);
        DROP INDEX onestop.dossier_applicant;
        CREATE INDEX dossier_applicant ON onestop.dossier (applicant_id_hash);
        DROP INDEX onestop.dossier_record_id;
        ALTER TABLE onestop.dossier ADD CONSTRAINT dossier_source_source_record_id_key
            UNIQUE (source, source_record_id);
        """
    )
