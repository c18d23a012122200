"""The public names: sorted, complete, importable."""

from __future__ import annotations

import streamllm
import streamllm.models


def test_all_is_sorted_and_importable() -> None:
    """__all__ is sorted and every name in it exists."""
    for module in (streamllm, streamllm.models):
        names = list(module.__all__)
        assert names == sorted(names, key=lambda n: (not n.isupper(), n)) or names == sorted(names)
        for name in names:
            assert hasattr(module, name), name


def test_public_classes_are_exported_from_the_top() -> None:
    """Every public class of the core modules is importable from streamllm."""
    from streamllm import errors, events, outputs

    for module in (errors, events, outputs):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and name != "BaseEvent":
                assert name in streamllm.__all__, f"{module.__name__}.{name} not exported"
