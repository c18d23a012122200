"""A pytest plugin with a ``recorder`` fixture: add
``pytest_plugins = ["streamllm.pytest_plugin"]`` to your ``conftest.py``.

>>> def test_tokens(recorder):                                  # doctest: +SKIP
...     model.invoke("hi", callbacks=[recorder])
...     assert recorder.tokens() == ["Hello"]
"""

from __future__ import annotations

import pytest

from streamllm.testing import RecordingHandler

__all__ = ["recorder"]


@pytest.fixture
def recorder() -> RecordingHandler:
    """A fresh :class:`~streamllm.testing.RecordingHandler` for one test."""
    return RecordingHandler()
