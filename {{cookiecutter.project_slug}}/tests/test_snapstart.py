{%- set m = cookiecutter | model -%}
"""SnapStart: environments restored from one snapshot get random state of their own."""

import importlib
import random
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from {{ cookiecutter.package_name }}.core import snapstart


def test_the_restore_hook_reseeds_random(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the runtime's hook library (a stand-in here), the reseed is registered; two
    environments restored from the same snapshot then make different span ids."""
    hooks: list[Callable[..., Any]] = []

    def register_after_restore(
        func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Callable[..., Any]:
        hooks.append(func)
        return func

    library = types.ModuleType("snapshot_restore_py")
    library.__dict__["register_after_restore"] = register_after_restore
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", library)
    module = importlib.reload(snapstart)
    assert hooks == [module.reseed]

    random.seed(1234)  # the state the snapshot holds
    snapshot = random.getstate()
    ids = []
    for _ in range(2):  # two environments restored from it
        random.setstate(snapshot)
        hooks[0]()
        ids.append([RandomIdGenerator().generate_span_id() for _ in range(3)])
    assert ids[0] != ids[1]
    random.setstate(snapshot)  # without the hook, the same ids: what the hook prevents
    unseeded = [RandomIdGenerator().generate_span_id() for _ in range(3)]
    random.setstate(snapshot)
    assert unseeded == [RandomIdGenerator().generate_span_id() for _ in range(3)]


def test_main_registers_the_hook() -> None:
    import {{ cookiecutter.package_name }}.main  # noqa: F401

    assert "{{ cookiecutter.package_name }}.core.snapstart" in sys.modules
{%- if m.secrets.on %}


def test_secrets_are_read_after_each_restore(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the runtime's hook library, a start-up read (core/secrets.py's require_secrets)
    waits for each restore, so that no secret is in the snapshot; without it, it runs now."""
    hooks: list[Callable[..., Any]] = []
    read: list[str] = []
    library = types.ModuleType("snapshot_restore_py")
    library.__dict__["register_after_restore"] = hooks.append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", library)
    module = importlib.reload(snapstart)
    module.after_restore(lambda: read.append("secrets"))
    assert read == []
    assert len(hooks) == 2  # reseed, then the read
    hooks[1]()
    assert read == ["secrets"]
    monkeypatch.delitem(sys.modules, "snapshot_restore_py")
    module = importlib.reload(snapstart)
    module.after_restore(lambda: read.append("now"))
    assert read == ["secrets", "now"]
{%- endif %}
