"""Nothing lost, nothing doubled: faults in Magento, and cpsync killed mid-way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from cpsync.runtime import Runtime
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo


class Killed(BaseException):
    """Stands in for the process dying: not an Exception, so nothing inside catches it."""


def _expected(info: SampleInfo) -> set[str]:
    return set(info.ecommerce_item_nos) - set(info.grid_item_nos)


def _assert_each_product_once_and_right(
    emulator: EmulatorHandle, runtime: Runtime, info: SampleInfo
) -> None:
    catalog = emulator.store.products_by_sku()
    skus = [sku.lower() for sku in catalog]
    assert [s for s, n in Counter(skus).items() if n > 1] == []
    assert _expected(info) <= set(catalog)
    for sku in _expected(info):
        assert catalog[sku]["status"] == 1
        assert catalog[sku]["price"] is not None
    assert runtime.queue.dead_letters() == []
    depth = runtime.queue.depth()
    assert depth.visible + depth.in_flight + depth.delayed == 0


def test_given_503s_and_timeouts_when_draining_then_every_product_arrives_once(
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    make_runtime: Callable[..., Runtime],
) -> None:
    _, info = sample
    emulator.configure(timeout_seconds=0.6)
    emulator.set_faults("products.save:503:0.3", "products.save:timeout:0.1", seed=11)
    # Receives are counted generously: a busy CI machine stretches batches, and this test is
    # about nothing lost or doubled, not about the receive budget.
    runtime = make_runtime(
        sample[0],
        tmp_path,
        emulator,
        magento_timeout=0.3,
        magento_max_attempts=2,
        queue_visibility_seconds=30,
        queue_max_receives=40,
    )
    runtime.task("items").run()
    result = runtime.updater.drain(max_wait_seconds=30)
    failures = runtime.magento.stats()["failures"].get("products.save", 0)
    assert failures > 0, "the fault model injected nothing: this test proves nothing"
    assert result.dead == 0
    emulator.set_faults()
    _assert_each_product_once_and_right(emulator, runtime, info)


def test_given_detection_killed_before_the_watermark_then_a_rerun_loses_and_doubles_nothing(
    runtime: Runtime,
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, info = sample

    def die(*_args: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(runtime.state, "set_watermark", die)
        with pytest.raises(Killed):
            runtime.task("items").run()
    assert runtime.state.get_watermark("items") is None
    assert runtime.queue.depth().visible > 0  # the Changes were queued before the "crash"
    rerun = runtime.task("items").run()
    assert rerun.queued == 0  # fingerprints say they are queued already
    runtime.updater.drain(max_wait_seconds=10)
    _assert_each_product_once_and_right(emulator, runtime, info)


def test_given_the_updater_killed_after_writing_then_redelivery_doubles_nothing(
    runtime: Runtime,
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, info = sample
    runtime.task("items").run()
    real_ack = runtime.queue.ack
    calls = {"n": 0}

    def ack_then_die(messages: object) -> None:
        calls["n"] += 1
        if calls["n"] == 1:  # a batch is acked once, after its writes
            raise Killed
        real_ack(messages)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(runtime.queue, "ack", ack_then_die)
        with pytest.raises(Killed):
            runtime.updater.drain(max_wait_seconds=5)
    written = runtime.magento.stats()["requests"].get("products.save", 0)
    assert written > 0
    runtime.updater.drain(max_wait_seconds=10)  # messages reappear after visibility (1 s)
    _assert_each_product_once_and_right(emulator, runtime, info)
