"""The kernel switch: `use_kernels` / `get_kernels`."""

import threading

import pytest

import minigrad


def test_fast_is_the_default():
    assert minigrad.get_kernels() == "fast"


def test_use_kernels_as_a_call_switches_until_the_next_call():
    minigrad.use_kernels("reference")
    try:
        assert minigrad.get_kernels() == "reference"
    finally:
        minigrad.use_kernels("fast")
    assert minigrad.get_kernels() == "fast"


def test_use_kernels_as_a_context_manager_restores_the_previous_choice():
    with minigrad.use_kernels("reference"):
        assert minigrad.get_kernels() == "reference"
        with minigrad.use_kernels("fast"):
            assert minigrad.get_kernels() == "fast"
        assert minigrad.get_kernels() == "reference"
    assert minigrad.get_kernels() == "fast"


def test_use_kernels_restores_on_an_exception():
    with pytest.raises(KeyError), minigrad.use_kernels("reference"):
        raise KeyError
    assert minigrad.get_kernels() == "fast"


def test_unknown_kernels_name_raises_listing_the_names():
    with pytest.raises(ValueError,
                       match=r"use_kernels: unknown kernels 'slow'.*'reference'.*'fast'"):
        minigrad.use_kernels("slow")
    assert minigrad.get_kernels() == "fast"


def test_the_choice_is_per_thread():
    seen = []
    with minigrad.use_kernels("reference"):
        worker = threading.Thread(target=lambda: seen.append(minigrad.get_kernels()))
        worker.start()
        worker.join()
    assert seen == ["fast"]
