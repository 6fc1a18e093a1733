"""Grad-mode switches as torch has them: `set_grad_enabled` (call, context manager and
decorator), `inference_mode`, and `no_grad`/`enable_grad`/`inference_mode` as bare
decorators; each restores the mode it found, also under recursion and exceptions."""

from __future__ import annotations

import pytest
import torch

import minigrad


def _recording() -> bool:
    x = minigrad.ones(1, requires_grad=True)
    return (x * 2).requires_grad


def test_no_grad_works_as_a_bare_decorator_and_keeps_the_function():
    @minigrad.no_grad
    def double(x):
        """Docstring kept."""
        return x * 2

    x = minigrad.ones(2, requires_grad=True)
    assert not double(x).requires_grad and _recording()
    assert double.__name__ == "double" and double.__doc__ == "Docstring kept."


def test_enable_grad_works_as_a_bare_decorator():
    @minigrad.enable_grad
    def record():
        return _recording()

    with minigrad.no_grad():
        assert record() and not _recording()


def test_decorated_recursion_restores_the_mode_of_the_outermost_call():
    @minigrad.no_grad()
    def countdown(n):
        return countdown(n - 1) if n else minigrad.is_grad_enabled()

    assert countdown(3) is False and minigrad.is_grad_enabled()


@pytest.mark.parametrize("lib", [minigrad, torch])
def test_set_grad_enabled_switches_at_once_when_called(lib):
    lib.set_grad_enabled(False)
    try:
        assert not lib.is_grad_enabled()
    finally:
        lib.set_grad_enabled(True)
    assert lib.is_grad_enabled()


@pytest.mark.parametrize("lib", [minigrad, torch])
def test_set_grad_enabled_as_context_restores_the_mode_before_the_call(lib):
    with lib.no_grad():
        with lib.set_grad_enabled(True):
            assert lib.is_grad_enabled()
        assert not lib.is_grad_enabled()
    with pytest.raises(KeyError):
        with lib.set_grad_enabled(False):
            raise KeyError
    assert lib.is_grad_enabled()


@pytest.mark.parametrize("lib", [minigrad, torch])
def test_set_grad_enabled_as_decorator_acts_only_inside_the_function(lib):
    @lib.set_grad_enabled(False)
    def inside():
        return lib.is_grad_enabled()

    assert lib.is_grad_enabled() and inside() is False and lib.is_grad_enabled()


def test_set_grad_enabled_rejects_a_non_bool():
    with pytest.raises(TypeError, match="^set_grad_enabled: mode must be a bool"):
        minigrad.set_grad_enabled("no")
    assert minigrad.is_grad_enabled()


@pytest.mark.parametrize("lib", [minigrad, torch])
def test_inference_mode_records_nothing_in_all_its_forms(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.inference_mode():
        assert not (x * 2).requires_grad and lib.is_inference_mode_enabled()
    with lib.inference_mode(False):
        assert (x * 2).requires_grad and not lib.is_inference_mode_enabled()

    @lib.inference_mode
    def bare(t):
        return t * 2

    @lib.inference_mode()
    def called(t):
        return t * 2

    assert not bare(x).requires_grad and not called(x).requires_grad
    assert lib.is_grad_enabled() and not lib.is_inference_mode_enabled()
