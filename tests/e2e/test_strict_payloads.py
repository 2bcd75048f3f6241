"""Every payload cpsync writes passes Magento's web API input processor.

The emulator follows ``ServiceInputProcessor`` (``emulator/schema.py``): a member the data
interface has no setter for, a value of the wrong type, an attribute code, website or category
the store lacks is refused. Here it answers with the 400 of Magento 2.4.7 (the message names the
member), and every task runs over the whole sample, through single saves and through async bulk:
not one write may be refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from cpsync.counterpoint.schema import IM_ITEM
from cpsync.runtime import Runtime
from cpsync.tasks import TASKS
from emulator.config import EmulatorConfig
from emulator.server import running_emulator
from sample.generate import SampleInfo

#: Answers that would mean a payload the input processor or a save refuses.
REFUSED = {"400", "404", "500"}
#: Endpoints whose refusals are part of the protocol, not a payload bug (a product not there yet).
LOOKUPS = {"products.get", "categories.get", "media.list", "attributes.get"}


@pytest.mark.parametrize("bulk", [False, True], ids=["single saves", "async bulk"])
def test_every_task_writes_only_what_magento_accepts(
    sample: tuple[Path, SampleInfo], tmp_path: Path, make_runtime: Any, bulk: bool
) -> None:
    with running_emulator(EmulatorConfig(unsupported_field_status=400)) as emulator:
        runtime: Runtime = make_runtime(
            sample[0],
            tmp_path,
            emulator,
            magento_bulk_products=bulk,
            magento_bulk_min_batch=5,
        )
        _run_every_task(runtime)  # creates
        created = emulator.stats()
        # Every item changed in Counterpoint: the next runs send updates.
        now = datetime.now(UTC).replace(tzinfo=None)
        with runtime.counterpoint.begin() as conn:
            conn.execute(update(IM_ITEM).values(DESCR=IM_ITEM.c.DESCR + " v2", RS_UTC_DT=now))
        _run_every_task(runtime)
        updated = emulator.stats()
    for stats in (created, updated):
        refused = {
            endpoint: {status: n for status, n in answers.items() if status in REFUSED}
            for endpoint, answers in stats["responses"].items()
            if endpoint not in LOOKUPS
        }
        assert {e: r for e, r in refused.items() if r} == {}
    assert runtime.queue.dead_letters() == []
    assert created["writes"].get("products.created", 0) > 0
    assert updated["writes"].get("products.updated", 0) > 0


def _run_every_task(runtime: Runtime) -> None:
    for name in TASKS:
        runtime.task(name).run()
        runtime.updater.drain(max_wait_seconds=30)
