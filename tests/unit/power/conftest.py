"""Real loopback servers for the power tests, one set per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.unit.power.servers import MeterServer, ModbusDevice, PromApiServer


@pytest.fixture
async def meter() -> AsyncIterator[MeterServer]:
    server = MeterServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def prom_api() -> AsyncIterator[PromApiServer]:
    server = PromApiServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def modbus_device() -> AsyncIterator[ModbusDevice]:
    device = ModbusDevice()
    await device.start()
    try:
        yield device
    finally:
        await device.stop()
