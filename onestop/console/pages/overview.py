"""The overview pages: the home page (open failures by kind, each source's health) and the health page (daily
charts, dossiers due by district)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onestop.console import chart, render
from onestop.console.pages import Page
from onestop.db import connect


def register(read: APIRouter, page: Page) -> None:
    @read.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        from onestop import registry
        from onestop.operations import health

        with connect() as conn:
            counts = dict(
                conn.execute("SELECT kind, count(*) FROM onestop.failure WHERE open GROUP BY 1").fetchall()
            )
            sources = health.source_health(conn, registry.load())
        return page(request, "home.html", counts=counts, sources=sources)

    @read.get("/health", response_class=HTMLResponse)
    def health_page(request: Request) -> HTMLResponse:
        from onestop import registry
        from onestop.operations import health

        config = registry.load()
        today = datetime.now(render.TZ).date()
        with connect() as conn:
            sources = health.source_health(conn, config)
            charts = {
                s.source: chart.bar_chart(
                    [
                        (render.day(p.day), p.loaded, p.failed)
                        for p in health.daily_counts(conn, s.source, 14, today)
                    ],
                    width=280,
                    height=70,
                )
                for s in sources
            }
            overall = chart.bar_chart(
                [(render.day(p.day), p.loaded, p.failed) for p in health.daily_counts(conn, None, 14, today)]
            )
            districts = health.due_by_district(conn, config)
        return page(
            request,
            "health.html",
            sources=sources,
            charts=charts,
            overall=overall,
            districts=districts,
            today=today,
        )
