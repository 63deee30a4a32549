"""SnapStart: every execution environment restored from the one snapshot must not share its
random state (span and trace ids, retry jitter): reseed after each restore
(docs/deployment.md)."""

import random

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
