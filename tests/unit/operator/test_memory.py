"""Write memory: our write counts until the watch shows the object again."""

from __future__ import annotations

import time

from cango_operator.operator.memory import WriteMemory
from cango_operator.operator.writes import differs


class TestWriteMemory:
    def test_a_write_is_recalled_while_the_index_shows_the_old_version(self) -> None:
        memory = WriteMemory()
        memory.remember("job", "41", "fp", {"placements": ["a"]})
        assert memory.recall("job", "41") == {"placements": ["a"]}
        assert memory.already_written("job", "41", "fp")
        assert not memory.already_written("job", "41", "other")

    def test_a_newer_version_in_the_index_ends_the_memory(self) -> None:
        memory = WriteMemory()
        memory.remember("job", "41", "fp", {"x": 1})
        assert memory.recall("job", "42") is None
        assert memory.recall("job", "41") is None  # forgotten for good
        assert len(memory) == 0

    def test_old_memories_expire(self) -> None:
        memory = WriteMemory(max_age=0.0)
        memory.remember("job", "41", "fp", None)
        memory.expire(time.monotonic() + 1)
        assert not memory.already_written("job", "41", "fp")


class TestDiffers:
    def test_nested_mappings_compare_only_the_keys_we_set(self) -> None:
        current = {"power": {"capacityKw": 100, "gpuDrawKw": 1.5}, "phase": "Ready"}
        assert not differs({"power": {"gpuDrawKw": 1.5}}, current)
        assert differs({"power": {"gpuDrawKw": 2.0}}, current)

    def test_none_means_absent(self) -> None:
        assert not differs({"latencyMs": None}, {})
        assert differs({"latencyMs": None}, {"latencyMs": 20})

    def test_lists_compare_whole(self) -> None:
        assert differs({"sites": ["a"]}, {"sites": ["a", "b"]})
        assert not differs({"sites": ["a", "b"]}, {"sites": ["a", "b"]})
