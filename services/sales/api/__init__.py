"""Sales HTTP routes, one module per use case: parse -> decide -> store -> respond."""

from services.sales.api import accounts, deals, pipelines, scoring

ROUTERS = [
    accounts.router,
    pipelines.router,
    deals.router,
    scoring.rules_router,
    scoring.score_router,
]
