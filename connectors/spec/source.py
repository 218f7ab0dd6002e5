"""One entry of the source registry: a district or sector system, its connection, schedule and protocol."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from connectors.spec.common import ConnId, Duration, Spec
from connectors.spec.feed import FeedSpec
from connectors.spec.rest import RestSpec, XmlSpec
from connectors.spec.soap import SoapSpec


class SourceConfig(Spec):
    name: str = Field(
        pattern=r"^[a-z][a-z0-9_]{1,62}$", description="the source's id: DAG `onestop_sync_<name>`"
    )
    title: str = Field(description="what administrators read (Vietnamese)")
    kind: Literal["rest", "soap", "xml", "feed"] = Field(
        description="the protocol; its section says the rest"
    )
    # The mapping's own `dialect:` rule (mappings.validation); bounded, as the file name it names is.
    dialect: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,99}$",
        description="the mapping: mappings/<dialect>.yaml (or $ONESTOP_MAPPINGS_DIR)",
    )
    conn_id: ConnId = Field(description="the Airflow connection: Base URL, login, password, extra")
    district_code: str | None = Field(default=None, description="the GSO district code, for reports")
    schedule: str | None = Field(
        default="*/30 * * * *", description="cron, Asia/Ho_Chi_Minh; null: manual only"
    )
    lookback: Duration = Field(
        default=timedelta(minutes=15),
        description="each run reads [watermark − lookback, now], the watermark being the newest update time read "
        "(never past the window's end): it must cover the longest delay between a record's update time and its "
        "commit (a long transaction); at least 1s, so that a system whose window starts after its bound "
        "(`updated > from`) lists the records written later in the watermark's own second",
    )
    start: datetime = Field(
        default=datetime.fromisoformat("2025-01-01T00:00:00+07:00"),
        description="the first run reads [start, now]",
    )
    # DESIGN.md, Time on the wire: the window is sent, and zone-less answers read, in this zone.
    timezone: str | None = Field(
        default=None,
        description="the zone of times the system writes without one (window sent, answers read); "
        "default: the mapping's `timezone`, itself Asia/Ho_Chi_Minh",
    )
    pool_slots: int = Field(default=2, ge=1, description="concurrent calls into the system (an Airflow pool)")
    timeout_s: float = Field(default=60.0, description="seconds to wait for an answer")
    answer_timeout_s: float = Field(
        default=600.0, gt=0,
        description="seconds a whole answer may take to arrive, headers and body: one that still comes a few bytes "
        "at a time past this (each wait within `timeout_s`) is cut off and retried",
    )  # fmt: skip
    task_timeout: Duration | None = Field(
        default=None,
        description="how long each of the sync's tasks may run (`6h`, `45m`): one past it is stopped and fails, "
        "then retries; default: Airflow's `[core] default_task_execution_timeout` (none unless set)",
    )
    max_attempts: int = Field(default=5, ge=1, description="tries of a call that fails transiently (backoff)")
    rate_limit: float | None = Field(
        default=None, gt=0, description="requests per second into the system, per task"
    )
    watermark_field: Literal["updated", "received"] = Field(
        default="updated",
        description="what the watermark tracks: the update time, or the receipt time (a system asked by receipt)",
    )
    # Alerts (onestop/airflow/alerts.py)
    freshness: Duration = Field(
        default=timedelta(hours=2), description="no successful sync for longer than this is critical"
    )
    max_error_rate: float = Field(
        default=0.05,
        ge=0,
        description="a warning when a larger share of the last 24 h's sync runs, fetched records or"
        " portal deliveries failed (each of its own step)",
    )
    rest: RestSpec | None = Field(default=None, description="kind rest: the REST connector language")
    soap: SoapSpec | None = Field(
        default=None,
        description="kind soap: an operation of the served WSDL, with the REST language's paging",
    )
    xml: XmlSpec | None = Field(default=None, description="kind xml: the REST language with XML answers")
    feed: FeedSpec | None = Field(default=None, description="kind feed")

    @field_validator("lookback")
    @classmethod
    def _lookback(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError(
                "lookback must be at least 1s: a system whose window starts after its bound (`updated > from`) "
                "would never list the records written later in the watermark's own second"
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        # Checked as Airflow's cron timetables check it, which would otherwise refuse it only when the DAGs are
        # parsed, after config check said nothing.
        from croniter import croniter

        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"{value[:80]!r} is not a cron expression (e.g. */30 * * * *, @daily)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
                raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Ho_Chi_Minh)") from None
        return value

    @property
    def pages_by_position(self) -> bool:
        """Its pages are positions in a list (page numbers, offsets): an edit during a read moves records between
        pages, so a record can come twice and another not at all (connectors.store.merge holds the watermark)."""
        paged = self.rest or self.xml or self.soap
        return paged is not None and paged.paginator.type in ("page_number", "offset")

    @property
    def resumes(self) -> bool:
        """Its system keeps the reader's place (`rest.resume`): a run starts at the link or cursor the last
        one's last page gave, kept with the watermark."""
        paged = self.rest or self.xml
        return paged is not None and paged.resume is not None

    @property
    def pool(self) -> str:
        """Airflow pool capping concurrent calls to this (often fragile) system."""
        return f"onestop_{self.name}"
