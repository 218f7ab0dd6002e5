"""The canonical provincial dossier schema: pydantic models, code enums and the database migrations."""

from schemas.codes import (
    ApplicantType,
    Channel,
    DossierStatus,
    IdType,
    OnTime,
    ResultDelivery,
)
from schemas.dossier import (
    HCM,
    Applicant,
    Document,
    Dossier,
    Fee,
    ResultDoc,
    StatusEvent,
    Supplement,
    TextFix,
    content_hash,
    dossier_uid,
    mask,
)

__all__ = [
    "HCM",
    "Applicant",
    "ApplicantType",
    "Channel",
    "Document",
    "Dossier",
    "DossierStatus",
    "Fee",
    "IdType",
    "OnTime",
    "ResultDelivery",
    "ResultDoc",
    "StatusEvent",
    "Supplement",
    "TextFix",
    "content_hash",
    "dossier_uid",
    "mask",
]
