"""Finding dossiers by MaHoSo, the way its indexes allow (migration 0018)."""

from __future__ import annotations


def uids_by_ma_ho_so(match: str) -> str:
    """SQL selecting the uids of the dossiers whose MaHoSo satisfies `match` (an operator and its parameter:
    "= %(q)s", "= ANY(%s)", whose parameter is then passed twice): the live ones through the unique index that
    guards them, the deleted and conflicting ones through their own hash index (the two sets are disjoint)."""
    return (
        f"SELECT uid FROM onestop.dossier WHERE ma_ho_so {match} AND NOT deleted AND conflict_with IS NULL"
        f" UNION ALL SELECT uid FROM onestop.dossier WHERE ma_ho_so {match} AND (deleted OR conflict_with IS NOT NULL)"
    )
