"""keep_freed_memory: applies glibc's settings where glibc is the C library, and changes nothing
(returning False) elsewhere."""

from __future__ import annotations

import platform

import pytest

from minigrad.utils import allocator, keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="needs glibc (CI runs on Linux)")
def test_keep_freed_memory_applies_every_setting_with_glibc():
    assert keep_freed_memory() is True


def test_keep_freed_memory_changes_nothing_without_glibc(monkeypatch):
    class OtherLibc:  # a C library with a mallopt of its own but no gnu_get_libc_version
        def mallopt(self, parameter, value):
            raise AssertionError("mallopt of another C library must not be called")

    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: OtherLibc())
    assert keep_freed_memory() is False


def test_keep_freed_memory_without_a_c_library(monkeypatch):
    monkeypatch.setattr(allocator.ctypes.util, "find_library", lambda name: None)
    assert keep_freed_memory() is False


def test_keep_freed_memory_reports_a_refused_setting(monkeypatch):
    calls = []

    def mallopt(parameter, value):  # glibc's mallopt refusing the mmap threshold
        calls.append(parameter)
        return 0 if parameter == allocator.M_MMAP_THRESHOLD else 1

    class Libc:
        gnu_get_libc_version = None

    Libc.mallopt = staticmethod(mallopt)
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: Libc())
    assert keep_freed_memory() is False
    assert allocator.M_MMAP_THRESHOLD in calls
