"""The console's pages, by group. Each module's `register` adds its routes to the routers `app.create_app` makes
(`read`: the right to read DAG runs; `write`: the right to trigger onestop_redrive) and renders them through the
`Page` it is given: a template in the console's layout, with the banners and the user's rights."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.responses import HTMLResponse

Page = Callable[..., HTMLResponse]  # page(request, template, status_code=200, **context)


def source_titles() -> dict[str, str]:
    """Source name -> the registry's title: every page names a source as the failures' filter does."""
    from onestop import registry

    return {s.name: s.title for s in registry.load().sources}
