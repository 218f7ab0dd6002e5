"""Canonical code sets of the provincial dossier, with their Vietnamese labels (DOMAIN.md §3)."""

from __future__ import annotations

from enum import IntEnum


class LabelledEnum(IntEnum):
    """An integer code that knows its Vietnamese label (used by the UI and reports)."""

    label: str

    def __new__(cls, value: int, label: str) -> LabelledEnum:
        member = int.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class DossierStatus(LabelledEnum):
    SUBMITTED = 1, "Mới đăng ký"
    RECEIVED = 2, "Được tiếp nhận"
    REFUSED = 3, "Không được tiếp nhận"
    PROCESSING = 4, "Đang xử lý"
    AWAITING_DOCUMENTS = 5, "Yêu cầu bổ sung giấy tờ"
    AWAITING_PAYMENT = 6, "Yêu cầu thực hiện nghĩa vụ tài chính"
    WITHDRAWN = 7, "Công dân yêu cầu rút hồ sơ"
    STOPPED = 8, "Dừng xử lý"
    RESULT_READY = 9, "Đã xử lý xong"
    RETURNED = 10, "Đã trả kết quả"

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {DossierStatus.REFUSED, DossierStatus.WITHDRAWN, DossierStatus.STOPPED, DossierStatus.RETURNED}
)

# The usual moves; anything else is flagged (never rejected): real systems skip states and go backwards.
USUAL_MOVES: dict[DossierStatus, frozenset[DossierStatus]] = {
    DossierStatus.SUBMITTED: frozenset({2, 3, 7}),
    DossierStatus.RECEIVED: frozenset({4, 5, 6, 7, 8}),
    DossierStatus.PROCESSING: frozenset({5, 6, 7, 8, 9}),
    DossierStatus.AWAITING_DOCUMENTS: frozenset({4, 7, 8}),
    DossierStatus.AWAITING_PAYMENT: frozenset({4, 7, 8}),
    DossierStatus.RESULT_READY: frozenset({10}),
}  # type: ignore[dict-item]


# Every usual move as a (before, after) pair: a record's history is checked pair by pair with one set lookup.
USUAL_PAIRS: frozenset[tuple[int, int]] = frozenset(
    (b, a) for b, afters in USUAL_MOVES.items() for a in afters
)


def is_usual_move(before: int, after: int) -> bool:
    if before == after or (before, after) in USUAL_PAIRS:  # an IntEnum is found by its int
        return True
    if before not in USUAL_MOVES:
        DossierStatus(before)  # not a status at all: ValueError, as ever
    return False


class Channel(LabelledEnum):
    IN_PERSON = 1, "Trực tiếp"
    ONLINE = 2, "Trực tuyến"
    POSTAL = 3, "Qua dịch vụ bưu chính công ích"


class ResultDelivery(LabelledEnum):
    IN_PERSON = 0, "Nhận trực tiếp"
    BY_POST = 1, "Nhận qua bưu chính"


class ApplicantType(LabelledEnum):
    CITIZEN = 1, "Công dân"
    BUSINESS = 2, "Doanh nghiệp"
    STATE_AGENCY = 3, "Cơ quan nhà nước"
    OTHER = 4, "Tổ chức khác"


class IdType(LabelledEnum):
    CCCD = 1, "Căn cước công dân"
    CMND = 2, "Chứng minh nhân dân"


class OnTime(LabelledEnum):
    """Derived from due vs finished; 0 while the dossier is still open and not yet due."""

    NOT_YET_DUE = 0, "Chưa đến hạn"
    EARLY = 1, "Trước hạn"
    ON_TIME = 2, "Đúng hạn"
    LATE = 3, "Quá hạn"
