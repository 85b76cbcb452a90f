"""Services freeze their start-up heap, so full collections stop walking it (long pauses)."""

from __future__ import annotations

import gc

from shared.service import create_app


class _NoopRuntime:
    """What the app's lifespan and routes touch of a runtime, doing nothing."""

    name = "probe"
    signing_key = "not-a-secret"
    revoked = None

    async def start(self) -> None:
        self.garbage = [[i] for i in range(1000)]  # objects made during start-up

    async def stop(self) -> None:
        pass


async def test_the_heap_is_frozen_once_the_service_has_started():
    runtime = _NoopRuntime()
    app = create_app(runtime, [])  # type: ignore[arg-type]
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
            assert frozen > len(runtime.garbage)  # the start-up objects, and everything before
            assert gc.get_count()[0] < 100  # a collection ran just before the freeze
    finally:
        gc.unfreeze()
