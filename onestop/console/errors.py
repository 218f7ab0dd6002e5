"""What the console answers when a request cannot be served: a page in its layout (an API path: JSON), never
a 5xx for anything a person or a script can send."""

from __future__ import annotations

from fastapi import HTTPException

# Airflow's and the framework's refusals, said in the administrators' language.
STATUS_TEXT = {
    400: "Yêu cầu không hợp lệ.",
    401: "Cần đăng nhập Airflow.",
    403: "Tài khoản này không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy trang hoặc mục được yêu cầu.",
    405: "Thao tác này không dùng được theo cách đó.",
    413: "Dữ liệu gửi lên quá lớn.",
    429: "Quá nhiều yêu cầu: hãy thử lại sau ít phút.",
}


class ConsoleError(HTTPException):
    """A refusal of the console's own, with a code (tests, the JSON API) and the Vietnamese text shown."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message)
        self.code = code


def bad_input(field: str, why: str) -> ConsoleError:
    return ConsoleError(400, "bad_input", f"Giá trị của “{field}” không hợp lệ: {why}.")
