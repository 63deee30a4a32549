"""Golden renders: record what the template renders for every preset and every combination
the suite tests, then byte-compare a later render against the record. A refactoring of the
template (moving a decision into the model of local_extensions.py, splitting a file into
templates/) must leave every rendered file as it was, except the changes it intends.

    python -m tests.golden record /tmp/golden-before     # on the commit before the change
    python -m tests.golden compare /tmp/golden-before    # after it: prints each difference

`compare` exits 1 when a file differs, is missing or is new, and prints a unified diff of
each (`--stat` for the names only). The renders are those of tests/test_infrastructure.py
(`RENDERS`: every value of every choice, custom answers, the release matrix), of
tests/test_api_edge.py (every edge combination on both API types), every preset of
presets/ (through its config file, as the README renders it) and `CROSS` below, answers
that meet across the concerns; each through cookiecutter's own `cookiecutter()` with the
hooks, as a user renders.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]

# Answers that meet across concerns (API, edge, release, environments, CI) in one render.
CROSS = {
    "cross-rest-jwt-cors-staging-production-all-at-once": {
        "api_type": "rest",
        "auth": "jwt",
        "jwt_issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        "jwt_audience": "1example23456789",
        "cors_origins": "https://app.example.com",
        "environments": "staging-production",
        "deployment_strategy": "all-at-once",
        "snapstart": True,
        "python_version": "3.12",
        "ci_provider": "gitlab",
        "repository": "platform/team/orders",
    },
    "cross-http-jwt-any-cors-canary-email-travis": {
        "auth": "jwt",
        "jwt_issuer": "https://issuer.example.com/oauth2",
        "jwt_audience": "https://api.example.com",
        "cors_origins": "*",
        "alarm_email": "oncall@example.com",
        "ci_provider": "travis",
        "environments": "staging-production",
    },
    "cross-rest-domain-dns-canary-snapstart-none": {
        "api_type": "rest",
        "stage_name": "v2",
        "domain_name": "orders.example.com",
        "certificate_arn": (
            "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
        ),
        "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
        "snapstart": True,
        "ci_provider": "none",
        "alarm_email": "oncall@example.com",
    },
}


def renders() -> dict[str, dict]:
    """{name: extra context} of every render, presets as {"config_file": path}."""
    from tests.test_api_edge import COMBINATIONS, edge_answers
    from tests.test_infrastructure import RENDERS

    found = {"defaults": {}, **RENDERS}
    for combination in COMBINATIONS:
        found["edge-" + "-".join(combination)] = edge_answers(*combination)
    found.update(CROSS)
    for preset in sorted((TEMPLATE / "presets").glob("*.yaml")):
        found[f"preset-{preset.stem}"] = {"config_file": str(preset)}
    return found


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in name)


def render_one(item: tuple[str, dict, str]) -> str:
    name, extra, out = item
    from cookiecutter.main import cookiecutter

    target = Path(out) / _safe(name)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    extra = dict(extra)
    config_file = extra.pop("config_file", None)
    cookiecutter(
        str(TEMPLATE),
        no_input=True,
        extra_context=extra or None,
        config_file=config_file,
        default_config=config_file is None,
        output_dir=str(target),
    )
    return name


def record(out: Path, jobs: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    items = [(name, extra, str(out)) for name, extra in renders().items()]
    with ProcessPoolExecutor(jobs) as pool:
        for name in pool.map(render_one, items):
            print(name, file=sys.stderr)
    (out / "renders.json").write_text(json.dumps(renders(), indent=1, sort_keys=True))


def files(root: Path) -> dict[str, bytes]:
    """Every rendered file, the default bucket's random suffix (a new one per render, see
    docs/prompts.md) replaced by a placeholder."""
    from local_extensions import BUCKET_SUFFIX_LENGTH

    suffix = re.compile(rb"(-artifacts-)[0-9a-f]{%d}\b" % BUCKET_SUFFIX_LENGTH)
    return {
        str(path.relative_to(root)): suffix.sub(rb"\1<random>", path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != "renders.json"
    }


def compare(golden: Path, jobs: int, stat: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        now = Path(tmp)
        record(now, jobs)
        before, after = files(golden), files(now)
    changed = 0
    for rel in sorted(before.keys() | after.keys()):
        old, new = before.get(rel), after.get(rel)
        if old == new:
            continue
        changed += 1
        if stat or old is None or new is None:
            print(f"{'new' if old is None else 'gone' if new is None else 'changed'}: {rel}")
            continue
        sys.stdout.writelines(
            difflib.unified_diff(
                old.decode(errors="replace").splitlines(keepends=True),
                new.decode(errors="replace").splitlines(keepends=True),
                f"golden/{rel}",
                f"now/{rel}",
            )
        )
    print(f"{changed} file(s) differ out of {len(before)} recorded", file=sys.stderr)
    return 1 if changed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["record", "compare"])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--stat", action="store_true", help="names only, no diffs")
    args = parser.parse_args()
    # cookiecutter writes a replay file under ~: keep it out of the real home.
    os.environ["HOME"] = tempfile.mkdtemp(prefix="golden-home-")
    if args.command == "record":
        record(args.directory, args.jobs)
        return 0
    return compare(args.directory, args.jobs, args.stat)


if __name__ == "__main__":
    sys.exit(main())
