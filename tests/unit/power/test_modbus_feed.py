"""The modbus feed reads a real pymodbus TCP device on 127.0.0.1: data types, word order,
scale, register types, unit ids, and Modbus exception codes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymodbus.constants import ExcCodes

from cango_operator.api import ModbusDataType, ModbusRegisterType
from cango_operator.power.feeds import (
    FeedErrorKind,
    FeedReadError,
    LoadScope,
    ModbusFeedConfig,
    WordOrder,
)
from cango_operator.power.feeds.modbus import ModbusFeed
from tests.unit.power.servers import HOLDING_BASE, INPUT_BASE, ModbusDevice, free_port, store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def modbus_feed(device: ModbusDevice, timeout: float = 1.0, **fields: object) -> ModbusFeed:
    options: dict[str, object] = {"register": HOLDING_BASE, "unit_id": ModbusDevice.UNIT_ID}
    options.update(fields)
    config = ModbusFeedConfig(host="127.0.0.1", port=device.port, **options)  # type: ignore[arg-type]
    return ModbusFeed(config, scope=LoadScope.SITE, clock=lambda: NOW, timeout_seconds=timeout)


async def fault_of(feed: ModbusFeed) -> FeedReadError:
    with pytest.raises(FeedReadError) as caught:
        await feed.read()
    return caught.value


class TestDecodingRegisters:
    @pytest.mark.parametrize(
        ("data_type", "stored", "expected"),
        [
            ("uint16", 15000, 15000.0),
            ("int16", -120, -120.0),
            ("uint32", 150000, 150000.0),
            ("int32", -70000, -70000.0),
            ("float32", 12345.5, 12345.5),
        ],
    )
    async def test_each_data_type(
        self, modbus_device: ModbusDevice, data_type: str, stored: float, expected: float
    ) -> None:
        store(modbus_device.state.holding, HOLDING_BASE, stored, data_type)
        feed = modbus_feed(modbus_device, data_type=ModbusDataType(data_type))
        assert (await feed.read()).total_load_kw == expected

    async def test_scale_turns_raw_units_into_kw(self, modbus_device: ModbusDevice) -> None:
        store(modbus_device.state.holding, HOLDING_BASE, 15250, "uint16")  # tenths of a kW
        sample = await modbus_feed(modbus_device, scale=0.1).read()
        assert sample.total_load_kw == pytest.approx(1525.0)

    async def test_little_word_order_swaps_the_words(self, modbus_device: ModbusDevice) -> None:
        high, low = 1, 4464  # 70000 as big-endian words
        modbus_device.state.holding.update({HOLDING_BASE: low, HOLDING_BASE + 1: high})
        feed = modbus_feed(
            modbus_device, data_type=ModbusDataType.UINT32, word_order=WordOrder.LITTLE
        )
        assert (await feed.read()).total_load_kw == 70000.0

    async def test_input_registers_and_the_optional_registers(
        self, modbus_device: ModbusDevice
    ) -> None:
        state = modbus_device.state
        store(state.input, INPUT_BASE, 9000, "uint16")
        store(state.input, INPUT_BASE + 1, 12000, "uint16")
        store(state.input, INPUT_BASE + 2, 1, "uint16")
        feed = modbus_feed(
            modbus_device,
            register=INPUT_BASE,
            register_type=ModbusRegisterType.INPUT,
            capacity_register=INPUT_BASE + 1,
            curtailed_register=INPUT_BASE + 2,
        )
        sample = await feed.read()
        assert (sample.total_load_kw, sample.capacity_kw, sample.curtailed) == (
            9000.0,
            12000.0,
            True,
        )


class TestModbusFaults:
    @pytest.mark.parametrize(
        ("code", "words"),
        [
            (ExcCodes.DEVICE_BUSY, "exception code 6, server device busy"),
            (ExcCodes.DEVICE_FAILURE, "exception code 4, server device failure"),
            (ExcCodes.GATEWAY_NO_RESPONSE, "exception code 11, gateway target"),
        ],
    )
    async def test_exception_codes_are_named(
        self, modbus_device: ModbusDevice, code: ExcCodes, words: str
    ) -> None:
        modbus_device.state.exception = code
        fault = await fault_of(modbus_feed(modbus_device))
        assert fault.kind is FeedErrorKind.MODBUS_EXCEPTION
        assert f"holding register {HOLDING_BASE}: {words}" in str(fault)

    async def test_wrong_register_type_is_an_illegal_address(
        self, modbus_device: ModbusDevice
    ) -> None:
        feed = modbus_feed(modbus_device, register_type=ModbusRegisterType.INPUT)
        fault = await fault_of(feed)
        assert fault.kind is FeedErrorKind.MODBUS_EXCEPTION
        assert f"input register {HOLDING_BASE}: exception code 2" in str(fault)
        assert "check register, registerType and dataType" in str(fault)

    async def test_unknown_unit_id_is_answered_with_an_exception(
        self, modbus_device: ModbusDevice
    ) -> None:
        fault = await fault_of(modbus_feed(modbus_device, unit_id=7))
        assert fault.kind is FeedErrorKind.MODBUS_EXCEPTION
        assert "unit 7" in str(fault)

    async def test_refused_connection(self) -> None:
        config = ModbusFeedConfig(host="127.0.0.1", port=free_port(), register=0)
        feed = ModbusFeed(config, scope=LoadScope.SITE, clock=lambda: NOW, timeout_seconds=1)
        fault = await fault_of(feed)
        assert fault.kind is FeedErrorKind.CONNECTION
        assert "cannot connect" in str(fault)

    async def test_device_too_slow_to_answer_is_a_timeout(
        self, modbus_device: ModbusDevice
    ) -> None:
        modbus_device.state.delay_seconds = 0.5
        fault = await fault_of(modbus_feed(modbus_device, timeout=0.1))
        assert fault.kind is FeedErrorKind.TIMEOUT
        assert "no valid answer" in str(fault)

    async def test_nan_float_is_passed_on_for_the_sanity_check(
        self, modbus_device: ModbusDevice
    ) -> None:
        store(modbus_device.state.holding, HOLDING_BASE, float("nan"), "float32")
        sample = await modbus_feed(modbus_device, data_type=ModbusDataType.FLOAT32).read()
        assert sample.total_load_kw != sample.total_load_kw  # NaN; sanity.py rejects it
