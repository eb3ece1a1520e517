"""The ``modbus`` feed: Modbus TCP holding or input registers, through pymodbus.

Each read opens a connection, reads the load register (and the optional capacity and
curtailment registers) from ``unitId``, and closes it again: a meter polled every few
seconds gains nothing from a held connection, and a fresh one never carries a half-read
frame from a timed-out request into the next poll.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from cango_operator.api import LoadScope, ModbusDataType, ModbusRegisterType
from cango_operator.power.feeds.base import FeedErrorKind, FeedReadError, FeedSample, make_sample
from cango_operator.power.feeds.config import ModbusFeedConfig

EXCEPTION_NAMES = {
    1: "illegal function (does the device serve this register type?)",
    2: "illegal data address (check register, registerType and dataType)",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge (busy with a long command)",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}

_DATATYPES = {
    ModbusDataType.UINT16: AsyncModbusTcpClient.DATATYPE.UINT16,
    ModbusDataType.INT16: AsyncModbusTcpClient.DATATYPE.INT16,
    ModbusDataType.UINT32: AsyncModbusTcpClient.DATATYPE.UINT32,
    ModbusDataType.INT32: AsyncModbusTcpClient.DATATYPE.INT32,
    ModbusDataType.FLOAT32: AsyncModbusTcpClient.DATATYPE.FLOAT32,
}


class ModbusFeed:
    def __init__(
        self,
        config: ModbusFeedConfig,
        *,
        scope: LoadScope,
        clock: Callable[[], datetime],
        timeout_seconds: float,
    ) -> None:
        self.config = config
        self.scope = scope
        self.clock = clock
        self.timeout_seconds = timeout_seconds

    @property
    def description(self) -> str:
        return f"modbus feed {self.config.address} unit {self.config.unit_id}"

    async def read(self) -> FeedSample:
        cfg = self.config
        client = AsyncModbusTcpClient(
            cfg.host,
            port=cfg.port,
            timeout=self.timeout_seconds,
            retries=0,
            reconnect_delay=0,
        )
        try:
            if not await client.connect():
                raise FeedReadError(FeedErrorKind.CONNECTION, f"{self.description}: cannot connect")
            load = await self._read_value(client, cfg.register, cfg.data_type) * cfg.scale
            capacity = None
            if cfg.capacity_register is not None:
                raw = await self._read_value(client, cfg.capacity_register, cfg.data_type)
                capacity = raw * cfg.scale
            curtailed = None
            if cfg.curtailed_register is not None:
                flag = await self._read_value(client, cfg.curtailed_register, ModbusDataType.UINT16)
                curtailed = flag != 0
        except ModbusIOException as exc:
            raise FeedReadError(
                FeedErrorKind.TIMEOUT,
                f"{self.description}: no valid answer within {self.timeout_seconds:g} s ({exc})",
            ) from None
        except ConnectionException as exc:
            raise FeedReadError(
                FeedErrorKind.CONNECTION, f"{self.description}: connection lost ({exc})"
            ) from None
        except ModbusException as exc:
            raise FeedReadError(
                FeedErrorKind.MALFORMED, f"{self.description}: protocol error ({exc})"
            ) from None
        finally:
            client.close()
        return make_sample(
            self.clock(), self.scope, load, capacity_kw=capacity, curtailed=curtailed
        )

    async def _read_value(
        self, client: AsyncModbusTcpClient, address: int, data_type: ModbusDataType
    ) -> float:
        cfg = self.config
        count = 1 if data_type in (ModbusDataType.UINT16, ModbusDataType.INT16) else 2
        where = f"{self.description} {cfg.register_type.value} register {address}"
        if cfg.register_type is ModbusRegisterType.HOLDING:
            response = await client.read_holding_registers(
                address, count=count, device_id=cfg.unit_id
            )
        else:
            response = await client.read_input_registers(
                address, count=count, device_id=cfg.unit_id
            )
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            name = EXCEPTION_NAMES.get(code, "unknown exception")
            raise FeedReadError(
                FeedErrorKind.MODBUS_EXCEPTION, f"{where}: exception code {code}, {name}"
            )
        registers = list(response.registers)
        if len(registers) != count:
            raise FeedReadError(
                FeedErrorKind.MALFORMED,
                f"{where}: asked for {count} registers, got {len(registers)}",
            )
        value = client.convert_from_registers(
            registers, _DATATYPES[data_type], word_order=cfg.word_order.value
        )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FeedReadError(
                FeedErrorKind.WRONG_TYPE, f"{where}: decoded {value!r}, not a number"
            )
        return float(value)
