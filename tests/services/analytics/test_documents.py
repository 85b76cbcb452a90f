"""Analytics publishes its OpenAPI and AsyncAPI documents like every service."""

from __future__ import annotations


async def test_openapi_lists_the_routes_with_their_scopes(analytics, http):
    doc = (await http.get(f"{analytics}/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/api/v1/analytics/throughput",
        "/api/v1/analytics/funnel",
        "/api/v1/analytics/funnel/{campaign_id}",
        "/api/v1/analytics/support",
        "/api/v1/analytics/commerce",
        "/api/v1/ops/overview",
        "/api/v1/ops/lag",
    ):
        assert path in paths, path
    assert paths["/api/v1/ops/lag"]["get"]["x-required-scope"] == "ops:read"
    assert paths["/api/v1/analytics/support"]["get"]["x-required-scope"] == "analytics:read"
    assert "/ops" not in paths  # the page is no API


async def test_asyncapi_names_the_privacy_answers(analytics, http):
    doc = (await http.get(f"{analytics}/asyncapi.json")).json()
    assert "ecrm.analytics.privacy" in str(doc["channels"])
    assert "ecrm.interactions.interaction" in str(doc["channels"])  # what it consumes
