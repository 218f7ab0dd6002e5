"""The administrators' console in the Airflow UI: the onestop.console FastAPI app mounted at /onestop, and its
pages under Browse (each opens inside Airflow's UI). The app requires an Airflow login on every route."""

from airflow.plugins_manager import AirflowPlugin

from onestop.console.app import create_app

PAGES = (
    ("Hồ sơ lỗi — Failed transfers", "onestop/failures", "onestop-failures"),
    ("Tra cứu hồ sơ — Dossier trace", "onestop/trace", "onestop-trace"),
    ("Tình trạng nguồn — Source health", "onestop/health", "onestop-health"),
)


class OnestopConsolePlugin(AirflowPlugin):
    name = "onestop_console"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/onestop", "name": "onestop-esb console"}]  # noqa: RUF012 - Airflow reads class attributes
    external_views = [  # noqa: RUF012
        {"name": name, "href": href, "url_route": route, "category": "browse", "destination": "nav"}
        for name, href, route in PAGES
    ]
