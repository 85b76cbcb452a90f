"""The elected consumer takes its partitions without a group join. A start that stalls (the
broker frozen) is abandoned and tried again; once the broker answers, the consumer starts and
applies what is published."""

from __future__ import annotations

import asyncio
import uuid

import anyio.to_thread

from shared import service
from shared.events.contacts import CustomerDeleted
from shared.service import Runtime
from tests.support.events import eventually, publish
from tests.support.faults import frozen


def _probe(infra, tmp_path) -> tuple[Runtime, list[str]]:  # type: ignore[no-untyped-def]
    """A runtime with no tables of its own, recording the customers of the deletions it applies."""
    runtime = Runtime("consumer_probe", tmp_path, settings=infra.settings())
    seen: list[str] = []

    @runtime.on(CustomerDeleted)
    async def deleted(conn, env) -> None:  # type: ignore[no-untyped-def]
        seen.append(env.data["customer_id"])

    return runtime, seen


async def test_a_stalled_start_is_tried_again_and_then_consumes(infra, tmp_path, monkeypatch):
    monkeypatch.setattr(service, "CONSUMER_START_S", 2.0)
    runtime, seen = _probe(infra, tmp_path)
    await runtime.start()
    try:
        await eventually(lambda: runtime.consuming, timeout=30)
        assert runtime.consumer is not None
        await runtime.consumer.stop()  # as if this process had just been elected
        runtime.consumer, runtime.consuming = None, False
        attempts = 0
        assign = runtime._assign

        async def counted(broker):  # type: ignore[no-untyped-def]
            nonlocal attempts
            attempts += 1
            return await assign(broker)

        runtime._assign = counted  # type: ignore[method-assign]
        with frozen(infra.pid("broker")):
            starting = asyncio.create_task(runtime._start_consumer())
            await eventually(lambda: attempts >= 2, timeout=30)  # the first one was abandoned
            assert not runtime.consuming
        await asyncio.wait_for(starting, 60)
        assert runtime.consuming
        customer = str(uuid.uuid4())
        await publish(infra.bootstrap, CustomerDeleted(customer_id=customer))
        await eventually(lambda: customer in seen, timeout=30)
        await asyncio.sleep(1)
        assert seen.count(customer) == 1
    finally:
        await runtime.stop()


async def test_a_batch_is_applied_without_a_worker_thread(infra, tmp_path, monkeypatch):
    """The handler takes the records themselves: FastStream's dependency solving ran a step of
    every batch on a worker thread (a thread hop per batch, for nothing the handler used)."""
    hops: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):  # type: ignore[no-untyped-def]
        hops.append(func)
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    runtime, seen = _probe(infra, tmp_path)
    await runtime.start()
    try:
        await eventually(lambda: runtime.consuming, timeout=30)
        customers = [str(uuid.uuid4()) for _ in range(3)]
        for customer in customers:
            await publish(infra.bootstrap, CustomerDeleted(customer_id=customer))
        await eventually(lambda: set(customers) <= set(seen), timeout=30)
        assert hops == []
    finally:
        await runtime.stop()
