"""The administrators' console in the Airflow UI: the onestop.console FastAPI app mounted at /onestop, and its
pages under Browse (each opens inside Airflow's UI). The app requires an Airflow login on every route."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from onestop.console.i18n import pgettext  # Babel only: the plugin stays light (no FastAPI)

# The menu entries in the configured language (onestop.console.i18n), computed when the plugin loads.
PAGES = (
    (pgettext("menu", "Failed transfers"), "onestop/failures", "onestop-failures"),
    (pgettext("menu", "Dossier trace"), "onestop/trace", "onestop-trace"),
    (pgettext("menu", "Source health"), "onestop/health", "onestop-health"),
)


class LazyConsole:
    """The console's ASGI app, built on its first request. Every Airflow process imports the plugins (each task
    runner too, ~2 s for FastAPI's security layer and the templates); only the API server serves them."""

    def __init__(self) -> None:
        self._app: Any = None

    def app(self) -> Any:
        if self._app is None:
            from onestop.console.app import create_app
            from onestop.privacy import install_log_masking

            install_log_masking()  # the API server's log lines (its access log too) pass the mask
            self._app = create_app()
        return self._app

    @property
    def routes(self) -> list:
        """Starlette's Mount reads these when a page builds a URL (url_for) through Airflow's router."""
        return self.app().routes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self.app()(scope, receive, send)


class OnestopConsolePlugin(AirflowPlugin):
    name = "onestop_console"
    fastapi_apps = [{"app": LazyConsole(), "url_prefix": "/onestop", "name": "onestop-esb console"}]
    external_views = [
        {"name": name, "href": href, "url_route": route, "category": "browse", "destination": "nav"}
        for name, href, route in PAGES
    ]
