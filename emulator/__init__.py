"""A Magento 2 REST emulator for the demo, tests and benchmarks (see docs in ``emulator.app``).

It follows ``docs/reference/magento.md``: routes under ``/rest[/<store>]/V1``, Magento's error
shapes, Bearer tokens, product upserts by SKU and searchCriteria, plus a cost and fault model.
"""

from __future__ import annotations

from emulator.app import create_app
from emulator.config import EmulatorConfig
from emulator.errors import MagentoError
from emulator.faults import ENDPOINTS, Fault
from emulator.runtime import Emulator
from emulator.server import EmulatorHandle, EmulatorServer, running_emulator

__all__ = [
    "ENDPOINTS",
    "Emulator",
    "EmulatorConfig",
    "EmulatorHandle",
    "EmulatorServer",
    "Fault",
    "MagentoError",
    "create_app",
    "running_emulator",
]
