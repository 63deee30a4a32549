"""SnapStart: environments restored from one snapshot get random state of their own."""

import importlib
import random
import sys
import types

from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from {{ cookiecutter.package_name }}.core import snapstart


def test_the_restore_hook_reseeds_random(monkeypatch):
    """With the runtime's hook library (a stand-in here), the reseed is registered; two
    environments restored from the same snapshot then make different span ids."""
    hooks = []
    library = types.ModuleType("snapshot_restore_py")
    library.register_after_restore = lambda func, *args, **kwargs: hooks.append(func) or func
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


def test_main_registers_the_hook():
    import {{ cookiecutter.package_name }}.main  # noqa: F401

    assert "{{ cookiecutter.package_name }}.core.snapstart" in sys.modules
