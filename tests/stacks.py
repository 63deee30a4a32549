"""What CloudFormation receives, and whether the two stacks fit together.

- `deploy_targets(project)`: each stack `sam deploy` makes of a render, read from the rendered
  samconfig.toml: its config env, stack name, region and parameter overrides.
- `cloudformation_template(project, target)`: the plain CloudFormation of that stack, as the
  change set's server-side SAM transform makes it (the deploy's region, account and stack
  name, the overrides, the code in S3 as `sam deploy` uploads it).
- `cloudformation_findings(project)`: cfn-lint on each of those (every finding counts): a
  cycle or a dangling reference shows only here, not in `template.yml`.
- `fit_problems(project)`: each name the service stack expects from the bootstrap stack
  (roles, artifact bucket and prefix, alarm key) is created there with exactly that name, per
  environment; every parameter samconfig.toml overrides exists in template.yml.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from pathlib import Path

from tests.deploy_permissions import tool
from tests.helpers import cfn_lint, load_yaml, sam_transform

# The account a deploy would run in: any 12 digits (nothing here reaches AWS).
ACCOUNT = "123456789012"
PARTITION = "aws"


def deploy_targets(project: Path) -> list:
    """Every stack the render deploys, as the render's own deploy-policy tool reads
    samconfig.toml (`Target`: config_env, region, stack, bucket, prefix, overrides)."""
    return tool(project).targets(project)


def cloudformation_template(project: Path, target) -> dict:
    """The template CloudFormation runs for `target`: template.yml through the SAM transform
    with the values the deploy gives it."""
    return json.loads(_transformed(str(project), target))


@functools.cache
def _transformed(project: str, target) -> str:
    values = {
        **dict(target.overrides),
        "AWS::Region": target.region,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": target.stack,
        "AWS::Partition": PARTITION,
    }
    template = load_yaml(Path(project) / "template.yml")
    code = f"s3://{target.bucket}/{target.prefix}/0123456789abcdef"
    return json.dumps(sam_transform(template, target.region, values, code_uri=code))


# SAM's own doing, accepted in the transform's output only (the lint of template.yml holds the
# source to both rules): I3042, informational: the transform writes the partition into the
# ARNs it makes (`arn:aws:apigateway:...` in a REST API's body and permissions); W1020: it
# substitutes the pseudo parameters it is given into the ARNs it copies (a REST API's
# Cognito authorizer), leaving an `Fn::Sub` with no variable, which CloudFormation accepts.
ACCEPTED_IN_TRANSFORM = (
    "[I3042: ARNs should use correctly placed Pseudo Parameters]",
    "[W1020: Sub isn't needed if it doesn't have a variable defined]",
)


def cloudformation_findings(project: Path) -> list[str]:
    """cfn-lint's findings (errors, warnings, informational) on what CloudFormation receives
    for each stack of the render, each prefixed with the stack's config env; only
    ACCEPTED_IN_TRANSFORM is left out."""
    findings = []
    for target in deploy_targets(project):
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / f"{target.config_env}.json"
            path.write_text(json.dumps(cloudformation_template(project, target), indent=1))
            findings += [
                f"[{target.config_env}] {finding}"
                for finding in cfn_lint(path, target.region)
                if not finding.startswith(tuple(f"{path.name}: {a}" for a in ACCEPTED_IN_TRANSFORM))
            ]
    return findings


# --- the two stacks ----------------------------------------------------------------------------

_SUB = re.compile(r"\$\{([^}!]+)\}")
OBJECTS_UNDER = re.compile(r"arn:[^:]+:s3:::[^/]+/(.+)/\*")


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def resolve(node, values: dict[str, str]):
    """A name as a deployed stack sees it: `Ref`s of parameters and pseudo parameters and
    `Fn::Sub` strings resolved with `values`; anything else is returned as it is."""
    if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in values:
        return values[node["Ref"]]
    if isinstance(node, dict) and set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
        return _SUB.sub(lambda m: values.get(m.group(1), m.group(0)), node["Fn::Sub"])
    return node


def _stack_values(template: dict, target) -> dict[str, str]:
    defaults = {
        name: str(parameter.get("Default", ""))
        for name, parameter in template.get("Parameters", {}).items()
    }
    return {
        **defaults,
        **dict(target.overrides),
        "AWS::Region": target.region,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": target.stack,
        "AWS::Partition": PARTITION,
    }


def expected_from_bootstrap(project: Path, target) -> dict[str, set[str]]:
    """What the service stack of `target` names but does not create: role ARNs, the alarm
    key's alias, and the artifact bucket and prefix (samconfig.toml)."""
    template = load_yaml(Path(project) / "template.yml")
    values = _stack_values(template, target)
    roles, aliases = set(), set()
    functions = [r for r in template["Resources"].values() if r["Type"].endswith("::Function")]
    for function in functions:
        properties = function["Properties"]
        roles.add(resolve(properties["Role"], values))
        if "DeploymentPreference" in properties:
            roles.add(resolve(properties["DeploymentPreference"]["Role"], values))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::SNS::Topic" and "KmsMasterKeyId" in resource["Properties"]:
            aliases.add(resolve(resource["Properties"]["KmsMasterKeyId"], values))
    return {
        "role": roles,
        "key alias": aliases,
        "bucket": {target.bucket},
        "artifact prefix": {target.prefix},
    }


def created_by_bootstrap(project: Path, target) -> dict[str, set[str]]:
    """What the bootstrap stack creates for `target`'s environment: role ARNs (of every
    role: each environment's roles carry its name), key aliases, buckets, and the artifact
    prefixes its policies let that environment's deploy identity write under."""
    template = load_yaml(Path(project) / "infra" / "bootstrap.yml")
    values = _stack_values(template, target)
    created: dict[str, set[str]] = {key: set() for key in ("role", "key alias", "bucket")}
    created["artifact prefix"] = set()
    environment = target.environment.capitalize()
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role" and "RoleName" in properties:
            name = resolve(properties["RoleName"], values)
            created["role"].add(f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}")
        elif resource["Type"] == "AWS::KMS::Alias":
            created["key alias"].add(resolve(properties["AliasName"], values))
        elif resource["Type"] == "AWS::S3::Bucket":
            created["bucket"].add(resolve(properties["BucketName"], values))
        elif resource["Type"] == "AWS::IAM::ManagedPolicy" and logical_id == (
            f"DeployPolicy{environment}"
        ):
            created["artifact prefix"] |= _writable_prefixes(properties["PolicyDocument"], values)
    return created


def _writable_prefixes(document: dict, values: dict[str, str]) -> set[str]:
    """The key prefixes (`<bucket>/<prefix>/*`) a policy allows s3:PutObject under."""
    prefixes = set()
    for statement in document["Statement"]:
        actions = statement["Action"]
        if statement["Effect"] != "Allow" or "s3:PutObject" not in as_list(actions):
            continue
        for resource in as_list(statement["Resource"]):
            arn = resolve(resource, values)
            if isinstance(arn, str) and (match := OBJECTS_UNDER.fullmatch(arn)):
                prefixes.add(match.group(1))
    return prefixes


def fit_problems(project: Path) -> list[str]:
    """Every way the service stacks of a render do not fit its bootstrap stack."""
    problems = []
    template = load_yaml(Path(project) / "template.yml")
    parameters = template.get("Parameters", {})
    for target in deploy_targets(project):
        expected = expected_from_bootstrap(project, target)
        created = created_by_bootstrap(project, target)
        for kind, names in expected.items():
            problems += [
                f"[{target.config_env}] {kind} {name!r} is not created by infra/bootstrap.yml"
                for name in sorted(names - created[kind])
            ]
        for name, value in target.overrides:
            if name not in parameters:
                problems.append(f"[{target.config_env}] samconfig overrides {name}, no parameter")
            elif value not in map(str, parameters[name].get("AllowedValues", [value])):
                problems.append(f"[{target.config_env}] {name}={value} is not an allowed value")
    return problems
