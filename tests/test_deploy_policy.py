"""The deploy policy is enough: every call of a first deploy, an update, a failed first deploy
and `sam delete` is allowed by iam/deploy-policy.json and by the bootstrap's DeployPolicy,
for the default answers, every single-option override and every preset; and every action
the policy grants is needed by one of those calls. The calls and the evaluation are the
rendered service's own tool, scripts/deploy_policy.py (`dp.tool(project)`), which the
service runs in its own tests; tests/test_policy_growth.py adds resources to renders.

A failure names the resource type, the handler, the permission and the ARN it would hit:
grant it in iam/deploy-policy.json, or add a reviewed exclusion to EXCLUSIONS (in
{{cookiecutter.project_slug}}/scripts/deploy_policy.py)."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from local_extensions import sam_cli_stack
from tests import deploy_permissions as dp
from tests.helpers import (
    ALTERNATIVE_RESOURCE_TYPES,
    CFN_LINT_SETTING,
    NEWER_ACTIONS,
    SINGLE_OPTIONS,
    TEMPLATE,
    cfn_lint,
    parliament_findings,
    run,
    single_option,
)

PRESETS = {
    path.stem: yaml.safe_load(path.read_text())["default_context"]
    for path in sorted((TEMPLATE / "presets").glob("*.yaml"))
}
# Every combination the template tests: the defaults, each value of each choice and
# boolean (read from cookiecutter.json), and each preset. Rendered by the `render` fixture.
RENDERS = {
    "defaults": {},
    **{f"{key}={value}": single_option(key, value) for key, value in SINGLE_OPTIONS},
    **{f"preset:{name}": answers for name, answers in PRESETS.items()},
}


def rendered_policy(project: Path, environment: str = "") -> dict:
    return json.loads(dp.tool(project).policy_path(project, environment).read_text())


bootstrap_policy = dp.pinned_bootstrap_policy


# --- sufficiency, for every render --------------------------------------------------------------


@pytest.mark.parametrize("name", list(RENDERS))
def test_the_policy_is_enough_and_all_of_it_is_needed(render, name):
    project = render(**RENDERS[name])
    tool = dp.tool(project)
    for environment in tool.environments(project):  # each environment's stack and policy
        calls, _ = tool.deploy_calls(project, environment)
        for policy in (
            rendered_policy(project, environment),
            bootstrap_policy(project, environment),
        ):
            assert tool.unmet(policy, calls) == [], "\n".join(tool.unmet(policy, calls))
            assert tool.unused(policy, calls) == []
        # The bootstrap's copy is the same document, its account pinned; the tool reads it
        # back as the file's.
        pinned = json.dumps(bootstrap_policy(project, environment)).replace(dp.ACCOUNT, "*")
        assert json.loads(pinned) == rendered_policy(project, environment)
        assert tool.bootstrap_policy(project, environment) == rendered_policy(project, environment)
        # apply rewrites the files in their rendered form: an addition is only its lines.
        text = tool.policy_path(project, environment).read_text()
        assert tool.format_policy(json.loads(text)) == text.rstrip()
    assert tool.check(project, io.StringIO()) == 0


def describe_reaching(calls, resource_types, handlers) -> str:
    """Assert that `calls` include each handler of each resource type; return every call
    described, one a line, for the assertions on names, ARNs and conditions."""
    sources = {call.source.split(" (")[0] for call in calls}
    for rtype in resource_types:
        for handler in handlers:
            assert f"{rtype} {handler} handler" in sources, (rtype, handler)
    return "\n".join(call.describe() for call in calls)


def test_the_calls_cover_what_a_deploy_does(render):
    """The default render's calls: every handler of every resource the transform makes,
    sam deploy's own calls and sam delete's, with the render's names."""
    project = render()
    tool = dp.tool(project)
    calls, excluded = tool.deploy_calls(project)
    described = describe_reaching(
        calls,
        [
            "AWS::Lambda::Function",
            "AWS::Lambda::Permission",
            "AWS::Logs::LogGroup",
            "AWS::ApiGatewayV2::Api",
            "AWS::ApiGatewayV2::Stage",
        ],
        ("create", "read", "delete"),
    )
    # The issue's own example: the HTTP API's stage is created with tags.
    assert (
        "AWS::ApiGatewayV2::Stage create handler (HttpApiApiGatewayDefaultStage): "
        "apigateway:TagResource on arn:aws:apigateway:eu-west-1::/apis/" in described
    )
    assert (
        ": iam:PassRole on arn:aws:iam::111122223333:role/fastapi-lambda-service-lambda-role"
        ' with {"aws:CalledVia"' in described
    )
    assert '"iam:PassedToService": "lambda.amazonaws.com"' in described
    assert '"lambda:Principal": "apigateway.amazonaws.com"' in described
    for source in (
        "sam deploy: upload the artifact",
        "sam deploy: execute the change set",
        "sam deploy --on-failure DELETE",
        "sam delete: delete the stack",
    ):
        assert source in described, source
    assert {x.permission for _, x in excluded} >= {"ec2:DescribeVpcs", "kms:Decrypt"}


def test_the_calls_cover_the_release_resources(render):
    """The production preset (two environments, canary, e-mail): each environment's calls
    reach the CodeDeploy application and group, the alias update's deployment, the alarms,
    dashboard, topic (and production's subscription alone: staging pages nobody), the hook
    function and the roles passed, under that environment's names only."""
    project = render(**RENDERS["preset:production"])
    tool = dp.tool(project)
    for environment in ("staging", "production"):
        calls, excluded = tool.deploy_calls(project, environment)
        described = describe_reaching(
            calls,
            [
                "AWS::CodeDeploy::Application",
                "AWS::CodeDeploy::DeploymentGroup",
                "AWS::CloudWatch::Alarm",
                "AWS::CloudWatch::Dashboard",
                "AWS::SNS::Topic",
                *(["AWS::SNS::Subscription"] if environment == "production" else []),
            ],
            ("create", "delete"),
        )
        subscribes = "AWS::SNS::Subscription create handler" in described
        assert subscribes == (environment == "production"), environment
        stack = f"orders-api-{environment}"  # also the function's name: the slug

        def regional(service: str) -> str:
            return f"arn:aws:{service}:eu-west-1:111122223333:"

        config = (
            "LambdaCanary10Percent5Minutes" if environment == "production" else "LambdaAllAtOnce"
        )
        for expected in (
            "AWS::Lambda::Alias update handler (ApiFunctionAliaslive): codedeploy:CreateDeployment"
            f" on arn:aws:codedeploy:eu-west-1:111122223333:deploymentgroup:{stack}-",
            f"codedeploy:GetDeploymentConfig on arn:aws:codedeploy:eu-west-1:111122223333:"
            f"deploymentconfig:CodeDeployDefault.{config}",
            f"iam:PassRole on arn:aws:iam::111122223333:role/{stack}-codedeploy",
            f"iam:PassRole on arn:aws:iam::111122223333:role/{stack}-pre-traffic",
            f"lambda:CreateFunction on {regional('lambda')}function:{stack}-pre-traffic",
            f"cloudwatch:PutMetricAlarm on {regional('cloudwatch')}alarm:{stack}-errors",
            f"cloudwatch:PutDashboard on arn:aws:cloudwatch::111122223333:dashboard/{stack}",
            f"sns:CreateTopic on arn:aws:sns:eu-west-1:111122223333:{stack}-alarms",
            *(
                ['"sns:Endpoint": "orders-oncall@example.com"']
                if environment == "production"
                else []
            ),
        ):
            assert expected in described, expected
        other = "staging" if environment == "production" else "production"
        assert f"orders-api-{other}" not in described
        assert {x.permission for _, x in excluded} >= {"codedeploy:RegisterOnPremisesInstance"}


# --- the evaluator can fail: a permission taken away is reported ------------------------------


@pytest.mark.parametrize(
    "name",
    ["defaults", "preset:rest-api", "preset:snapstart", "preset:production", "preset:api-edge"],
)
def test_every_granted_action_removed_is_reported(render, name):
    """Take each action out of the policy in turn: the check names a call that needs it."""
    project = render(**RENDERS[name])
    tool = dp.tool(project)
    environment = tool.environments(project)[-1]  # production, with environments
    calls, _ = tool.deploy_calls(project, environment)
    policy = rendered_policy(project, environment)
    for index, statement in enumerate(policy["Statement"]):
        actions = tool._as_list(statement["Action"])
        for action in actions:
            smaller = copy.deepcopy(policy)
            rest = [a for a in actions if a != action]
            if rest:
                smaller["Statement"][index]["Action"] = rest
            else:
                del smaller["Statement"][index]
            found = tool.unmet(smaller, calls)
            assert found, f"{statement['Sid']}: {action} removed, nothing reported"
            assert all(f": {action} on " in line for line in found), found


def _reported(project: Path, policy: dict) -> str:
    return "\n".join(dp.tool(project).unmet_permissions(project, policy))


def test_conditions_and_resources_are_checked(render):
    project = render()
    policy = rendered_policy(project)

    def changed(sid: str, **updates) -> dict:
        other = copy.deepcopy(policy)
        (statement,) = [s for s in other["Statement"] if s["Sid"] == sid]
        statement.update(updates)
        return other

    # iam:PassedToService: the role passed to any other service is not enough.
    wrong = changed(
        "PassTheExecutionRoleToLambdaOnly",
        Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
    )
    assert (
        "AWS::Lambda::Function create handler (ApiFunction): iam:PassRole on "
        "arn:aws:iam::111122223333:role/fastapi-lambda-service-lambda-role"
        in _reported(project, wrong)
    )
    # lambda:Principal: a grant for another principal does not cover API Gateway's.
    wrong = changed(
        "LetOnlyApiGatewayInvokeTheFunction",
        Condition={"StringEquals": {"lambda:Principal": "s3.amazonaws.com"}},
    )
    assert (
        "AWS::Lambda::Permission create handler (ApiFunctionDefaultPermission): "
        "lambda:AddPermission on arn:aws:lambda:eu-west-1:111122223333:function:"
        "fastapi-lambda-service" in _reported(project, wrong)
    )
    # s3:prefix: listing another prefix does not let sam delete list this one.
    wrong = changed(
        "ListArtifactsUnderThePrefix", Condition={"StringLike": {"s3:prefix": ["someone-else/*"]}}
    )
    assert "sam delete: list the artifacts under the prefix: s3:ListBucket" in _reported(
        project, wrong
    )
    # The resource: another function's ARN is not this one.
    wrong = changed(
        "ManageTheFunction", Resource="arn:aws:lambda:eu-west-1:*:function:someone-else"
    )
    assert (
        "lambda:CreateFunction on arn:aws:lambda:eu-west-1:111122223333:function:"
        "fastapi-lambda-service" in _reported(project, wrong)
    )
    # Another region's ARNs do not match.
    wrong = json.loads(json.dumps(policy).replace("eu-west-1", "us-east-1"))
    assert "cloudformation:CreateChangeSet on arn:aws:cloudformation:eu-west-1:" in _reported(
        project, wrong
    )
    # An explicit Deny wins over the Allow.
    denied = copy.deepcopy(policy)
    denied["Statement"].append(
        {"Effect": "Deny", "Action": "cloudformation:Delete*", "Resource": "*"}
    )
    assert "sam delete: delete the stack: cloudformation:DeleteStack" in _reported(project, denied)
    # Without the grants of the recovery, neither `sam deploy` nor `sam delete` can clean up.
    no_delete = json.loads(json.dumps(policy).replace('"cloudformation:DeleteStack",', ""))
    report = _reported(project, no_delete)
    assert "sam deploy --on-failure DELETE: delete the failed stack" in report
    assert "sam delete: delete the stack" in report


def test_evaluator_semantics(render):
    tool = dp.tool(render())
    call = tool.Call("s3:ListBucket", "arn:aws:s3:::b", "t", {"s3:prefix": "p/"})
    allow = {"Effect": "Allow", "Action": "s3:List*", "Resource": "arn:aws:s3:::b"}
    assert tool.is_allowed({"Statement": [allow]}, call)
    assert tool.is_allowed({"Statement": allow}, call)  # one statement, not a list
    assert not tool.is_allowed({"Statement": [{**allow, "Action": "s3:Get*"}]}, call)
    assert tool.is_allowed({"Statement": [{**allow, "Action": "S3:listbucket"}]}, call)  # case
    assert not tool.is_allowed({"Statement": [{**allow, "Resource": "arn:aws:s3:::B"}]}, call)
    assert tool.is_allowed({"Statement": [{**allow, "Resource": "arn:aws:s3:::?"}]}, call)
    assert not tool.is_allowed({"Statement": [{**allow, "Resource": "arn:aws:s3:::[b]"}]}, call)
    like = {"StringLike": {"s3:prefix": ["p/*"]}}
    assert tool.is_allowed({"Statement": [{**allow, "Condition": like}]}, call)
    missing = tool.Call("s3:ListBucket", "arn:aws:s3:::b", "t")
    assert not tool.is_allowed({"Statement": [{**allow, "Condition": like}]}, missing)
    if_exists = {"StringLikeIfExists": {"s3:prefix": ["x/*"]}}
    assert tool.is_allowed({"Statement": [{**allow, "Condition": if_exists}]}, missing)
    assert not tool.is_allowed({"Statement": [{**allow, "Condition": if_exists}]}, call)
    not_equals = {"StringNotEquals": {"s3:prefix": "p/"}}
    assert not tool.is_allowed({"Statement": [{**allow, "Condition": not_equals}]}, call)
    not_action = {"Effect": "Allow", "NotAction": "s3:Get*", "Resource": "*"}
    assert tool.is_allowed({"Statement": [not_action]}, call)
    assert not tool.is_allowed({"Statement": [{**not_action, "NotAction": "s3:*"}]}, call)
    with pytest.raises(NotImplementedError):
        tool.is_allowed(
            {"Statement": [{**allow, "Condition": {"NumericLessThan": {"k": "1"}}}]}, call
        )


# --- exclusions and the actions parliament does not know ----------------------------------------


def test_every_exclusion_is_still_a_handler_permission_with_a_reason(render):
    """An exclusion whose permission no handler lists any more is stale: remove it. Its
    `unless` properties must be ones the resource type has (a typo would void nothing). One
    that names an API operation which is no IAM action says which action S3 authorises it
    as: neither IAM reference knows the operation, both know that action, and the same
    type's handlers list it, so the grant is still asked for."""
    tool = dp.tool(render())
    for exclusion in tool.EXCLUSIONS:
        listed = tool.handler_permissions("eu-west-1", exclusion.resource_type)
        assert any(
            exclusion.permission.lower() in (p.lower() for p in listed.get(h, []))
            for h in exclusion.handlers
        ), f"stale exclusion: {exclusion}"
        assert len(exclusion.reason) > 10, exclusion
        schema = tool.provider_schema("eu-west-1", exclusion.resource_type)
        for path in exclusion.unless:
            if path.startswith("Properties."):
                prop = path.split(".")[1]
                assert prop in schema["properties"], f"{exclusion}: no property {prop}"
        if exclusion.authorised_as:
            assert not exclusion.unless, exclusion
            for action, known in ((exclusion.permission, False), (exclusion.authorised_as, True)):
                assert (tool._action_entry(action) is not None) is known, (exclusion, action)
                assert dp.parliament_knows(action) is known, (exclusion, action)
            every = {p.lower() for permissions in listed.values() for p in permissions}
            assert exclusion.authorised_as.lower() in every, exclusion
    keys = [(x.resource_type, x.permission.lower()) for x in tool.EXCLUSIONS]
    assert len(keys) == len(set(keys)), "one exclusion per resource type and permission"


def test_a_property_that_voids_an_exclusion_makes_the_check_fail(render, tmp_path):
    """Exclusions hold only while the property is absent: a function put into a VPC, with
    a KMS key, needs the ec2 and kms permissions, and the check says so."""
    project = render()
    tool = dp.tool(project)
    copy_ = tmp_path / "vpc"
    shutil.copytree(project, copy_)
    template = copy_ / "template.yml"
    text = template.read_text().replace(
        "      CodeUri: src/\n",
        "      CodeUri: src/\n      KmsKeyArn: arn:aws:kms:eu-west-1:111122223333:key/k\n"
        "      VpcConfig:\n        SubnetIds: [subnet-1]\n        SecurityGroupIds: [sg-1]\n",
    )
    template.write_text(text)
    report = "\n".join(tool.unmet_permissions(copy_))
    assert "AWS::Lambda::Function create handler (ApiFunction): ec2:DescribeSubnets" in report
    assert (
        "AWS::Lambda::Function create handler (ApiFunction): kms:CreateGrant on "
        "arn:aws:kms:eu-west-1:111122223333:key/k" in report
    )
    assert tool.unmet_permissions(project) == []


def test_a_resource_type_without_an_arn_model_is_listed_and_flagged(render, tmp_path):
    """A type the tool has no ARN model for is still checked: its handler permissions are
    listed, each on the ARN cfn-lint's IAM reference gives for the action (named after the
    resource), said to be unscoped; suggest flags its statement for review. A type no
    provider schema knows (a custom resource) is named, not a crash."""
    project = render()
    tool = dp.tool(project)
    copy_ = tmp_path / "stream"
    shutil.copytree(project, copy_)
    template = copy_ / "template.yml"
    template.write_text(
        template.read_text().replace(
            "\nOutputs:\n",
            "\n  Clicks:\n    Type: AWS::Kinesis::Stream\n    Properties:\n"
            "      Name: clicks\n      ShardCount: 1\n"
            "  Seed:\n    Type: Custom::Seed\n    Properties:\n"
            "      ServiceToken: arn:aws:lambda:eu-west-1:111122223333:function:seed\n"
            "\nOutputs:\n",
            1,
        )
    )
    calls, _ = tool.deploy_calls(copy_)
    stream = [c for c in calls if c.logical_id == "Clicks"]
    create = {c.action for c in stream if c.handler == "create"}
    listed = set(tool.handler_permissions("eu-west-1", "AWS::Kinesis::Stream")["create"])
    assert create == listed
    scoped = [c for c in stream if c.resource != "*"]
    assert scoped
    assert all(c.review.startswith("no ARN model for AWS::Kinesis::Stream") for c in scoped)
    assert {c.resource for c in scoped} == {"arn:aws:kinesis:eu-west-1:111122223333:stream/clicks"}
    out = io.StringIO()
    assert tool.check(copy_, out) == 1
    report = out.getvalue()
    assert "Clicks (AWS::Kinesis::Stream)" in report
    assert "cannot scope these: no ARN model for AWS::Kinesis::Stream" in report
    assert (
        "kinesis:CreateStream (create) on arn:aws:kinesis:eu-west-1:111122223333:stream/clicks"
        in report
    )
    assert "no provider schema lists the permissions of Custom::Seed (Seed)" in report
    policy = rendered_policy(copy_)
    statements = tool.suggestion(policy, calls)
    (flagged,) = [s for s in statements if s["Sid"].startswith("Review")]
    assert flagged["Resource"] == "arn:aws:kinesis:eu-west-1:*:stream/clicks"
    assert tool.reviews(policy, calls)


def test_the_tools_iam_reference_agrees_with_parliaments(render):
    """The tool decides which actions have no resource-level permission (and so are granted
    on `*`) from cfn-lint's copy of the Service Authorization Reference, since the rendered
    service has no parliament; on every call of the renders it agrees with parliament's copy,
    but for NEWER_RESOURCE_LEVEL."""
    actions = set()
    for name in ("defaults", "preset:rest-api", "preset:production", "preset:api-edge"):
        project = render(**RENDERS[name])
        tool = dp.tool(project)
        for environment in tool.environments(project):
            actions |= {call.action for call in tool.deploy_calls(project, environment)[0]}
    differ = {a for a in actions if tool.no_resource_level(a) != dp.parliament_no_resource_level(a)}
    assert differ == dp.NEWER_RESOURCE_LEVEL


@pytest.mark.parametrize("name", ["defaults", *(f"preset:{name}" for name in PRESETS)])
def test_the_services_sam_translator_makes_the_same_calls(render, service_python, name):
    """A service installs an older aws-sam-translator than the template's tests (the newest
    that takes the runtime's pydantic pin, see its pyproject.toml); run there, its tool
    lists exactly the calls it lists here."""
    project = render(**RENDERS[name])
    tool = dp.tool(project)
    script = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, 'scripts'); "
        "import deploy_policy as t; p = Path('.').resolve(); print(json.dumps({e: sorted("
        "c.describe() for c in t.deploy_calls(p, e)[0]) for e in t.environments(p)}))"
    )
    theirs = json.loads(run([service_python, "-c", script], cwd=project).stdout)
    ours = {
        env: sorted(c.describe() for c in tool.deploy_calls(project, env)[0])
        for env in tool.environments(project)
    }
    assert theirs == ours


def test_the_names_of_sam_clis_own_stacks_are_sam_clis(render):
    """The stacks `sam delete` looks for, as the tool and the model (the policy) name them,
    are the names aws-sam-cli gives them."""
    from samcli.lib.bootstrap.companion_stack.data_types import CompanionStack
    from samcli.lib.bootstrap.web_function_code_bucket import WebFunctionCodeBucketStack

    tool = dp.tool(render())
    for stack in ("fastapi-lambda-service", "orders-api-production", "x" * 128):
        companion = CompanionStack(stack).stack_name
        code_bucket = WebFunctionCodeBucketStack(stack).stack_name
        assert tool.companion_stack(stack) == sam_cli_stack(stack, "companion_stack") == companion
        assert (
            tool.code_bucket_stack(stack)
            == sam_cli_stack(stack, "code_bucket_stack")
            == code_bucket
        )


def test_the_tool_is_the_same_file_in_every_render(render):
    """No Jinja in scripts/deploy_policy.py: each render gets the template's file as it is,
    so the template's tests and every service run the same code."""
    source = (
        TEMPLATE / "{{cookiecutter.project_slug}}" / "scripts" / "deploy_policy.py"
    ).read_text()
    for name in ("defaults", "preset:production", "preset:api-edge"):
        assert (render(**RENDERS[name]) / "scripts" / "deploy_policy.py").read_text() == source


def test_parliaments_unknown_actions_are_real_handler_permissions(render):
    """The UNKNOWN_ACTION findings accepted in tests/helpers.py are actions that CloudFormation's
    handlers list for this template's resources, and that the policy grants."""
    listed = set()
    for name in ("defaults", "preset:rest-api"):
        project = render(**RENDERS[name])
        calls, _ = dp.tool(project).deploy_calls(project)
        listed |= {call.action for call in calls}
    assert listed >= NEWER_ACTIONS
    text = (render() / "iam" / "deploy-policy.json").read_text()
    assert parliament_findings(text) == []
    unknown = json.loads(text)
    unknown["Statement"][0]["Action"].append("cloudformation:MadeUpAction")
    assert any("UNKNOWN_ACTION" in f for f in parliament_findings(json.dumps(unknown)))


def test_parliaments_alternative_resource_types_are_read_as_iam_reads_them(render):
    """The RESOURCE_MISMATCH accepted in tests/helpers.py (ALTERNATIVE_RESOURCE_TYPES): the
    action takes one of two required resource types in parliament's data (the accepted
    format, and the table's, which the statement names); the table's handlers call it on the
    table itself, and the tool's IAM reference takes it there. A statement that names neither
    is still reported."""
    project = render(**RENDERS["preset:stateful"])
    tool = dp.tool(project)
    calls = [c for e in tool.environments(project) for c in tool.deploy_calls(project, e)[0]]
    table = "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}"
    for action, other in ALTERNATIVE_RESOURCE_TYPES.items():
        on = {call.resource for call in calls if call.action == action}
        assert on
        assert all(re.fullmatch(r"arn:aws:dynamodb:[^:]+:\d+:table/[^/]+", a) for a in on)
        assert "table" in tool.resource_types(action)
        # parliament's ARN format, its `${...}` variables written as `*`
        formats = [re.sub(r"\$\{\w+\}", "*", f) for f in dp.parliament_required_formats(action)]
        assert sorted(formats) == sorted([other, re.sub(r"\$\{\w+\}", "*", table)]), formats
    text = (project / "iam" / "deploy-policy-production.json").read_text()
    assert parliament_findings(text) == []
    elsewhere = json.loads(text)
    (statement,) = [s for s in elsewhere["Statement"] if "dynamodb:CreateTable" in s["Action"]]
    statement["Resource"] = "arn:aws:s3:::not-a-table"
    assert any("RESOURCE_MISMATCH" in f for f in parliament_findings(json.dumps(elsewhere)))


def test_cfn_lint_accepts_only_the_newer_actions(tmp_path):
    """The render's one cfn-lint setting (W3037 off on a deploy policy) hides W3037 on
    NEWER_ACTIONS there and nothing else: cfn_lint reports a misspelt action beside them, the
    newer actions where no setting is (as the render's own hook does), a setting that is
    wider, elsewhere or on the whole template, and one that hides nothing."""
    newer = ["apigateway:TagResource", "apigateway:UntagResource"]

    def lint(actions, name="DeployPolicy", setting=CFN_LINT_SETTING, template_setting=None):
        statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
        document = {"Version": "2012-10-17", "Statement": [statement]}
        resource = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document}}
        if setting:
            resource["Metadata"] = {"cfn-lint": setting}
        template = {"Resources": {name: resource}}
        if template_setting:
            template["Metadata"] = {"cfn-lint": template_setting}
        path = tmp_path / "policy.yml"
        path.write_text(json.dumps(template))
        return cfn_lint(path)

    assert lint(newer) == []
    (finding,) = lint([*newer, "apigateway:TagResources"])
    assert "hidden by a cfn-lint setting" in finding
    assert "'tagresources' is not one of" in finding
    unset = lint(newer, setting=None)
    assert len(unset) == 2
    assert all("W3037" in f for f in unset)
    (finding,) = lint(newer, setting={"config": {"ignore_checks": ["W3037", "W3005"]}})
    assert "cfn-lint setting on DeployPolicy" in finding
    (finding,) = lint(newer, name="SomePolicy")
    assert "cfn-lint setting on SomePolicy" in finding
    assert any(
        "cfn-lint setting on the template" in f
        for f in lint(newer, setting=None, template_setting=CFN_LINT_SETTING)
    )
    (finding,) = lint(["apigateway:GET"])
    assert "the cfn-lint setting on DeployPolicy hides nothing" in finding


def test_samconfig_settings_are_sam_deploy_options(render):
    """Every deploy setting of samconfig.toml names an option of aws-sam-cli's `sam deploy`
    (a misspelt key would be ignored), and on_failure = DELETE is one of its modes."""
    import tomllib

    from samcli.commands.deploy.command import cli
    from samcli.lib.deploy.utils import FailureMode

    config = tomllib.loads((render() / "samconfig.toml").read_text())["default"]
    options = {param.name for param in cli.params}
    settings = {**config["global"]["parameters"], **config["deploy"]["parameters"]}
    assert set(settings) <= options, set(settings) - options
    assert FailureMode(settings["on_failure"]) is FailureMode.DELETE


# --- sam delete, run as the pinned aws-sam-cli runs it --------------------------------------------

# How IAM authorises each API operation `sam delete` makes (HeadObject as s3:GetObject,
# ListObjectsV2 as s3:ListBucket: the S3 user guide's "Required permissions for Amazon S3 API
# operations"). An operation not listed here fails the test: a SAM CLI bump that makes a new
# call has to be read and modelled in the tool's `sam_delete_calls`.
SAM_DELETE_ACTIONS = {
    ("cloudformation", "DescribeStacks"): "cloudformation:DescribeStacks",
    ("cloudformation", "GetTemplate"): "cloudformation:GetTemplate",
    ("cloudformation", "DeleteStack"): "cloudformation:DeleteStack",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "DeleteObject"): "s3:DeleteObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
}


class DeployedAccount:
    """The account `sam delete` finds after `sam deploy`: the stack, its original template
    (template.yml as sam deploy packaged it: each function's CodeUri in S3 under its MD5),
    its artifacts and the template under the prefix, and nothing else (no ECR companion
    stack, no Web Function code-bucket stack). Every request is answered from that state,
    as AWS would, and recorded as (service, region, operation, params)."""

    def __init__(self, project: Path, tool, bucket: str, prefix: str, stack: str):
        template = tool.load_cloudformation(project, project / "template.yml")
        self.objects = set()
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::Serverless::Function":
                props = resource["Properties"]
                key = f"{prefix}/{hashlib.md5(props['CodeUri'].encode()).hexdigest()}"
                props["CodeUri"] = f"s3://{bucket}/{key}"
                self.objects.add(key)
        self.template = json.dumps(template)
        self.objects.add(f"{prefix}/{hashlib.md5(self.template.encode()).hexdigest()}.template")
        self.stacks = {stack}
        self.calls = []

    def answer(self, service: str, operation: str, params: dict) -> dict:
        from botocore.exceptions import ClientError

        def error(code: str, message: str):
            return ClientError({"Error": {"Code": code, "Message": message}}, operation)

        if service == "cloudformation":
            name = params["StackName"]
            if name not in self.stacks:
                raise error("ValidationError", f"Stack with id {name} does not exist")
            if operation == "DescribeStacks":
                status = {"StackStatus": "UPDATE_COMPLETE", "EnableTerminationProtection": False}
                return {"Stacks": [{"StackName": name, **status}]}
            if operation == "GetTemplate":
                return {"TemplateBody": self.template, "StagesAvailable": ["Original"]}
            if operation == "DeleteStack":
                self.stacks.discard(name)
                return {}
        if service == "s3":
            key = params.get("Key")
            if operation == "HeadObject":
                if key not in self.objects:
                    raise error("404", "Not Found")
                return {"ContentLength": 1}
            if operation == "DeleteObject":
                self.objects.discard(key)
                return {}
            if operation == "ListObjectsV2":
                keys = sorted(k for k in self.objects if k.startswith(params["Prefix"]))
                return {"Contents": [{"Key": k} for k in keys], "KeyCount": len(keys)}
        raise AssertionError(f"sam delete made a call this test does not know: {operation}")


def sam_delete_requests(
    project: Path, config_env: str, monkeypatch, named: bool = False
) -> tuple[list, dict]:
    """Run aws-sam-cli's own `sam delete --no-prompts --config-env <env>` (DeleteContext,
    with samconfig.toml read by SAM CLI's own ConfigProvider), or with `named` the form
    docs/deployment.md gives with two environments, `--stack-name <stack> --region
    <region>` (the bucket and prefix then come from the stack's template), in-process,
    offline, with every botocore request answered by a DeployedAccount; return the requests
    and the settings of the config env."""
    import socket

    import botocore.client
    import click
    from samcli.cli.cli_config_file import ConfigProvider
    from samcli.commands.delete.command import cli
    from samcli.commands.delete.delete_context import CONFIG_COMMAND, CONFIG_SECTION, DeleteContext

    with click.Context(cli):  # as `sam delete`'s --config-file option reads it
        settings = ConfigProvider(CONFIG_SECTION, [CONFIG_COMMAND])(
            project / "samconfig.toml", config_env, ["delete"]
        )
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("sam delete tried the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    account = DeployedAccount(
        project,
        dp.tool(project),
        settings["s3_bucket"],
        settings["s3_prefix"],
        settings["stack_name"],
    )

    def make_api_call(client, operation, params):
        service = client.meta.service_model.service_name
        account.calls.append((service, client.meta.region_name, operation, dict(params)))
        return account.answer(service, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    with DeleteContext(
        stack_name=settings["stack_name"],
        region=settings["region"],
        profile=None,
        no_prompts=True,
        s3_bucket=None if named else settings["s3_bucket"],
        s3_prefix=None if named else settings["s3_prefix"],
    ) as context:
        context.run()
    assert account.stacks == set()
    assert account.objects == set(), "sam delete left artifacts: the canned answers are off"
    return account.calls, settings


def authorised_as(tool, request: tuple, bucket: str, prefix: str) -> tuple:
    """A recorded request as the tool models a call: (action, ARN, condition keys), with the
    tool's placeholders for the account, the stack id and an artifact's MD5."""
    service, region, operation, params = request
    assert (service, operation) in SAM_DELETE_ACTIONS, f"sam delete calls {service} {operation}"
    action = SAM_DELETE_ACTIONS[service, operation]
    context = {}
    if service == "cloudformation":
        arn = f"arn:aws:cloudformation:{region}:{tool.ACCOUNT}:stack/{params['StackName']}/"
        arn += tool.STACK_ID
    else:
        assert params["Bucket"] == bucket
        arn = f"arn:aws:s3:::{bucket}"
        if operation == "ListObjectsV2":
            context = {"s3:prefix": params["Prefix"]}
        else:
            key = re.fullmatch(re.escape(prefix) + r"/[0-9a-f]{32}(\.template)?", params["Key"])
            assert key, params["Key"]
            arn += f"/{prefix}/{tool.ARTIFACT_KEY}{key.group(1) or ''}"
    return action, arn, json.dumps(context, sort_keys=True)


@pytest.mark.parametrize("name", ["defaults", "preset:production"])
def test_sam_delete_makes_the_calls_the_tool_models(render, name, monkeypatch):
    """aws-sam-cli 1.170's real `sam delete --no-prompts`, run against a recording stand-in
    for AWS, makes exactly the calls `sam_delete_calls` lists (the policy is checked against
    those): the stack, its artifacts, and the stacks it looks for after (ECR companion, Web
    Function code bucket)."""
    project = render(**RENDERS[name])
    tool = dp.tool(project)
    for environment in tool.environments(project):
        modelled = {
            (call.action, call.resource, json.dumps(call.context, sort_keys=True))
            for call in tool.sam_delete_calls(tool.stack_of(project, environment))
        }
        for named in (False, True):
            requests, settings = sam_delete_requests(
                project, environment or "default", monkeypatch, named
            )
            made = {
                authorised_as(tool, r, settings["s3_bucket"], settings["s3_prefix"])
                for r in requests
            }
            assert made == modelled, (named, sorted(made - modelled), sorted(modelled - made))
