{%- set m = cookiecutter | model -%}
"""SnapStart: every execution environment restored from the one snapshot must not share its
random state (span and trace ids, retry jitter): reseed after each restore
(docs/deployment.md)."""

import random
{%- if m.secrets.on %}
from collections.abc import Callable
{%- endif %}

try:
    # Part of Lambda's managed Python runtimes (3.12+); absent elsewhere (tests install it).
    from snapshot_restore_py import register_after_restore
except ImportError:  # pragma: no cover - off Lambda (the tests stand one in)
    register_after_restore = None


def reseed() -> None:
    """Seed the `random` module (which OpenTelemetry's id generator uses) from os.urandom."""
    random.seed()


if register_after_restore is not None:
    register_after_restore(reseed)
{%- if m.secrets.on %}


def after_restore(hook: Callable[[], None]) -> None:
    """Run `hook` after each restore from the snapshot; where there is no snapshot (off
    Lambda), now."""
    if register_after_restore is None:
        hook()
    else:
        register_after_restore(hook)
{%- endif %}
