"""The template's side of the deploy-policy proof.

The proof itself ships in every render: `scripts/deploy_policy.py` (check, suggest, apply)
lists every call a deploy makes with the deploy identity's credentials (CloudFormation's
resource handlers from cfn-lint's provider schemas, `sam deploy`, `sam delete`, API
Gateway's log delivery), evaluates each against the policy and scopes what is missing. The
template's tests run that tool, from a render (`tool(project)`), never a copy of it. What
stays here is what only the template needs: loading the tool, the bootstrap's policy as IAM
sees it once deployed (the account pinned), and the cross-checks of the tool's data against
the template's own references (parliament's copy of the Service Authorization Reference,
aws-sam-cli's companion-stack name).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from tests.helpers import load_yaml

ACCOUNT = "111122223333"  # the tool's stand-in for the account a deploy runs in
PARTITION = "aws"

# Actions that cfn-lint 1.58's IAM reference (the tool's) scopes to the topic while
# parliament 1.6.4's older copy says they have no resource-level permission. The rendered
# policy grants them on `*` (parliament is what audits it), which covers both readings.
NEWER_RESOURCE_LEVEL = frozenset(
    {"sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"}
)


def tool(project: Path) -> ModuleType:
    """The render's scripts/deploy_policy.py as a module (one per distinct file)."""
    path = Path(project) / "scripts" / "deploy_policy.py"
    return _load(path.read_text(encoding="utf-8"), str(path))


@functools.cache
def _load(text: str, path: str) -> ModuleType:
    name = "deploy_policy_" + hashlib.sha256(text.encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def pinned_bootstrap_policy(project: Path, environment: str = "") -> dict:
    """The bootstrap's DeployPolicy (of `environment`: DeployPolicyStaging, ...) with
    ${AWS::Partition} and ${AWS::AccountId} filled in, as IAM sees it once the bootstrap
    stack is deployed in ACCOUNT."""
    resources = load_yaml(project / "infra" / "bootstrap.yml")["Resources"]
    name = tool(project).bootstrap_resource(environment)
    text = json.dumps(resources[name]["Properties"]["PolicyDocument"])
    text = text.replace("${AWS::Partition}", PARTITION).replace("${AWS::AccountId}", ACCOUNT)

    def unwrap(node):
        if isinstance(node, dict):
            if set(node) == {"Fn::Sub"}:
                return node["Fn::Sub"]
            return {k: unwrap(v) for k, v in node.items()}
        return [unwrap(v) for v in node] if isinstance(node, list) else node

    return unwrap(json.loads(text))


@functools.cache
def parliament_no_resource_level(action: str) -> bool:
    """Whether parliament's copy of the Service Authorization Reference says `action` has no
    resource-level permission (an action it does not know: it has)."""
    from parliament import iam_definition

    service, _, name = action.partition(":")
    for entry in iam_definition:
        if entry["prefix"] == service:
            for privilege in entry["privileges"]:
                if privilege["privilege"].lower() == name.lower():
                    return all(r["resource_type"] == "" for r in privilege["resource_types"])
    return False


def parliament_knows(action: str) -> bool:
    from parliament import iam_definition

    service, _, name = action.partition(":")
    return any(
        entry["prefix"] == service
        and any(p["privilege"].lower() == name.lower() for p in entry["privileges"])
        for entry in iam_definition
    )


def parliament_required_formats(action: str) -> list[str]:
    """The ARN formats of the resource types parliament's copy of the Service Authorization
    Reference marks required for `action`."""
    from parliament import iam_definition

    service, _, name = action.partition(":")
    (entry,) = [e for e in iam_definition if e["prefix"] == service]
    (privilege,) = [p for p in entry["privileges"] if p["privilege"].lower() == name.lower()]
    arns = {r["resource"]: r["arn"] for r in entry["resources"]}
    return [
        arns[r["resource_type"].rstrip("*")]
        for r in privilege["resource_types"]
        if r["resource_type"].endswith("*")
    ]
