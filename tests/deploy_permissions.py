"""Is the deploy policy enough? Every call a deploy makes with the deploy identity's
credentials, checked against the rendered policy: action, ARN and conditions.

The calls come from three places:
- CloudFormation's resource handlers. CloudFormation runs them with the caller's credentials
  (no service role here); their permissions per handler are in the resource-provider
  schemas that cfn-lint bundles for each region (`cfnlint/data/schemas`). The render's
  template.yml goes through the SAM transform (aws-sam-translator) first.
- `sam deploy` itself (aws-sam-cli 1.170: samcli/lib/deploy/deployer.py,
  samcli/lib/package/s3_uploader.py), with the render's samconfig.toml.
- `sam delete --no-prompts` (samcli/commands/delete/delete_context.py,
  samcli/lib/delete/cfn_utils.py): the recovery from a failed first deploy.

Every handler permission is either allowed by the policy or listed in EXCLUSIONS with the
reason it is not needed. Adding a resource (or a property) to template.yml makes its handler
permissions show up here: grant them in iam/deploy-policy.json, or add an exclusion keyed by
the resource type, with the property whose absence makes it unneeded. How to read a failure:
docs/deploy-policy.md of the template.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.helpers import policy_path, render_facts

ACCOUNT = "111122223333"  # any account: the rendered policy says `*`, the bootstrap pins its own
PARTITION = "aws"
API_ID = "a1b2c3d4e5"  # placeholders for what CloudFormation names at creation
DEPLOYMENT_ID = "dep123"
MAPPING_ID = "map123"
CHANGE_ID = "C0123456789ABCDEFGHIJ"  # a Route 53 change
RECORD_ACTIONS = {"create": "CREATE", "update": "UPSERT", "delete": "DELETE"}
STACK_ID = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
ARTIFACT_KEY = "0123456789abcdef0123456789abcdef"  # sam uploads artifacts under their MD5
HANDLERS = ("create", "read", "update", "delete")
VIA_CLOUDFORMATION = {
    "aws:CalledVia": ["cloudformation.amazonaws.com"],
    "aws:ViaAWSService": "true",
}


@functools.cache
def no_resource_level(action: str) -> bool:
    """Whether IAM authorises `action` against `*` only (no resource-level permission), by
    parliament's copy of the Service Authorization Reference. An action parliament does not
    know is taken to have resource-level permissions: its request names the resource."""
    from parliament import iam_definition

    service, _, name = action.partition(":")
    for entry in iam_definition:
        if entry["prefix"] == service:
            for privilege in entry["privileges"]:
                if privilege["privilege"].lower() == name.lower():
                    return all(r["resource_type"] == "" for r in privilege["resource_types"])
    return False


@dataclass(frozen=True)
class Exclusion:
    """A handler permission the deploy does not need. `unless` is a property path (dots,
    `*` for any key; `UpdatePolicy`, `Condition` etc. at the top of the resource) whose
    presence voids the exclusion: the day a template sets it, the permission is needed."""

    resource_type: str
    permission: str
    reason: str
    handlers: tuple[str, ...] = (*HANDLERS, "tagging")
    unless: str | None = None


def _x(resource_type, permissions, reason, unless=None, handlers=(*HANDLERS, "tagging")):
    return [Exclusion(resource_type, p, reason, handlers, unless) for p in permissions.split()]


# The reviewed table. Keyed by resource type; one line per permission.
EXCLUSIONS: list[Exclusion] = [
    # AWS::Lambda::Function
    *_x(
        "AWS::Lambda::Function",
        "ec2:DescribeSecurityGroups ec2:DescribeSubnets ec2:DescribeVpcs "
        "ec2:DescribeNetworkInterfaces",
        "no VpcConfig: the function is not in a VPC",
        "Properties.VpcConfig",
    ),
    *_x(
        "AWS::Lambda::Function",
        "elasticfilesystem:DescribeMountTargets s3files:ListMountTargets",
        "no FileSystemConfigs: no file system is mounted",
        "Properties.FileSystemConfigs",
    ),
    *_x(
        "AWS::Lambda::Function",
        "kms:CreateGrant kms:Decrypt kms:DescribeKey kms:Encrypt kms:GenerateDataKey",
        "no KmsKeyArn: environment variables use the AWS managed key",
        "Properties.KmsKeyArn",
    ),
    *_x(
        "AWS::Lambda::Function",
        "lambda:PutFunctionConcurrency lambda:DeleteFunctionConcurrency",
        "no ReservedConcurrentExecutions",
        "Properties.ReservedConcurrentExecutions",
    ),
    *_x(
        "AWS::Lambda::Function",
        "lambda:GetCodeSigningConfig lambda:PutFunctionCodeSigningConfig "
        "lambda:DeleteFunctionCodeSigningConfig",
        "no CodeSigningConfigArn",
        "Properties.CodeSigningConfigArn",
    ),
    *_x(
        "AWS::Lambda::Function",
        "lambda:GetLayerVersion",
        "no Layers: the artifact carries its dependencies",
        "Properties.Layers",
    ),
    *_x(
        "AWS::Lambda::Function",
        "lambda:PutRuntimeManagementConfig",
        "no RuntimeManagementConfig: the runtime updates automatically",
        "Properties.RuntimeManagementConfig",
    ),
    *_x(
        "AWS::Lambda::Function",
        "lambda:PutFunctionRecursionConfig",
        "no RecursiveLoop: the default (Terminate) stays",
        "Properties.RecursiveLoop",
    ),
    *_x(
        "AWS::Lambda::Function",
        "lambda:PutFunctionScalingConfig lambda:PassCapacityProvider",
        "no CapacityProviderConfig: not on Lambda Managed Instances",
        "Properties.CapacityProviderConfig",
    ),
    *_x(
        "AWS::Lambda::Function",
        "lambda:AssociateRuntimeAlias",
        "no CapacityProviderConfig: it belongs to Lambda Managed Instances, which this function "
        "does not use (undocumented per property: a real deploy confirms)",
        "Properties.CapacityProviderConfig",
    ),
    *_x(
        "AWS::Lambda::Function",
        "s3:GetObjectVersion",
        "no Code.S3ObjectVersion: sam deploy names artifacts by content (MD5), not version",
        "Properties.Code.S3ObjectVersion",
    ),
    *_x(
        "AWS::Lambda::Function",
        "lambda:PublishVersion",
        "the function's own update publishes no version without SnapStart or "
        "PublishToLatestPublished; SAM's versions are AWS::Lambda::Version resources, "
        "checked there (undocumented per property: a real deploy confirms)",
        "Properties.SnapStart",
    ),
    # AWS::Lambda::Version / Alias
    *_x(
        "AWS::Lambda::Version",
        "lambda:PutProvisionedConcurrencyConfig",
        "no ProvisionedConcurrencyConfig",
        "Properties.ProvisionedConcurrencyConfig",
    ),
    *_x(
        "AWS::Lambda::Version",
        "lambda:PutRuntimeManagementConfig",
        "no RuntimePolicy: the version follows the function's runtime updates",
        "Properties.RuntimePolicy",
    ),
    *_x(
        "AWS::Lambda::Version",
        "lambda:PutFunctionScalingConfig",
        "no FunctionScalingConfig",
        "Properties.FunctionScalingConfig",
    ),
    *_x(
        "AWS::Lambda::Alias",
        "lambda:PutProvisionedConcurrencyConfig lambda:DeleteProvisionedConcurrencyConfig",
        "no ProvisionedConcurrencyConfig",
        "Properties.ProvisionedConcurrencyConfig",
    ),
    *_x(
        "AWS::Lambda::Alias",
        "codedeploy:CreateDeployment codedeploy:GetDeployment "
        "codedeploy:GetDeploymentGroup codedeploy:GetDeploymentConfig codedeploy:StopDeployment",
        "no UpdatePolicy.CodeDeployLambdaAliasUpdate: no gradual deployment (SAM adds it with "
        "DeploymentPreference)",
        "UpdatePolicy.CodeDeployLambdaAliasUpdate",
    ),
    # CodeDeploy (deployment_strategy=canary), SNS (the alarms' topic)
    *_x(
        "AWS::CodeDeploy::DeploymentGroup",
        "codedeploy:RegisterOnPremisesInstance",
        "Lambda compute platform: no on-premises instances to register",
        "Properties.OnPremisesInstanceTagFilters",
    ),
    *_x(
        "AWS::SNS::Topic",
        "sns:Subscribe sns:Unsubscribe",
        "no Subscription property: the e-mail subscription is an AWS::SNS::Subscription",
        "Properties.Subscription",
    ),
    *_x(
        "AWS::SNS::Topic",
        "iam:GetRole iam:PassRole",
        "no DeliveryStatusLogging: no feedback roles are passed",
        "Properties.DeliveryStatusLogging",
    ),
    *_x(
        "AWS::SNS::Subscription",
        "iam:GetRole iam:PassRole",
        "no SubscriptionRoleArn (Firehose subscriptions only)",
        "Properties.SubscriptionRoleArn",
    ),
    # AWS::Logs::LogGroup
    *_x(
        "AWS::Logs::LogGroup",
        "logs:AssociateKmsKey logs:DisassociateKmsKey",
        "no KmsKeyId",
        "Properties.KmsKeyId",
    ),
    *_x(
        "AWS::Logs::LogGroup",
        "logs:PutDataProtectionPolicy",
        "no DataProtectionPolicy",
        "Properties.DataProtectionPolicy",
    ),
    *_x(
        "AWS::Logs::LogGroup",
        "logs:PutIndexPolicy logs:DeleteIndexPolicy",
        "no FieldIndexPolicies",
        "Properties.FieldIndexPolicies",
    ),
    *_x(
        "AWS::Logs::LogGroup",
        "logs:PutResourcePolicy logs:DeleteResourcePolicy",
        "no ResourcePolicyDocument",
        "Properties.ResourcePolicyDocument",
    ),
    *_x(
        "AWS::Logs::LogGroup",
        "logs:CreateLogDelivery s3:REST.PUT.OBJECT firehose:TagDeliveryStream",
        "no DataProtectionPolicy: no audit findings are delivered to S3, Firehose or a log "
        "group (s3:REST.PUT.OBJECT is not even an IAM action: an S3 access-log operation)",
        "Properties.DataProtectionPolicy",
    ),
    *_x(
        "AWS::Logs::LogGroup",
        "logs:PutLogGroupDeletionProtection",
        "no DeletionProtectionEnabled",
        "Properties.DeletionProtectionEnabled",
    ),
    *_x(
        "AWS::Logs::LogGroup",
        "logs:PutBearerTokenAuthentication",
        "no BearerTokenAuthenticationEnabled",
        "Properties.BearerTokenAuthenticationEnabled",
    ),
    # API Gateway
    *_x(
        "AWS::ApiGatewayV2::Api",
        "s3:getObject",
        "no BodyS3Location: the OpenAPI body is inline",
        "Properties.BodyS3Location",
    ),
    *_x(
        "AWS::ApiGateway::RestApi",
        "s3:GetObject",
        "no BodyS3Location: the OpenAPI body is inline",
        "Properties.BodyS3Location",
    ),
    *_x(
        "AWS::ApiGateway::RestApi",
        "apigateway:UpdateRestApiPolicy",
        "no Policy: the API has no resource policy",
        "Properties.Policy",
    ),
    *_x(
        "AWS::ApiGateway::RestApi",
        "iam:PassRole",
        "no integration credentials: the Lambda proxy "
        "integration is allowed by the function's AWS::Lambda::Permission, not a role",
        "Properties.Body.paths.*.*.x-amazon-apigateway-integration.credentials",
    ),
    # AWS::ApiGatewayV2::DomainName (domain_name with the HTTP API)
    *_x(
        "AWS::ApiGatewayV2::DomainName",
        "apigateway:AddCertificateToDomain apigateway:RemoveCertificateFromDomain "
        "s3:GetObject s3:GetObjectVersion",
        "no MutualTlsAuthentication: no truststore to read from S3, no certificate for mutual "
        "TLS to add (the IAM reference: an extra check for mutual TLS domain names)",
        "Properties.MutualTlsAuthentication",
    ),
]


@dataclass(frozen=True)
class Call:
    """One authorised request: `action` on `resource` with the request's condition keys."""

    action: str
    resource: str
    source: str  # who makes it: "AWS::X::Y create handler (LogicalId)", "sam deploy: ..."
    context: dict = field(default_factory=dict, hash=False, compare=False)

    def describe(self) -> str:
        context = f" with {json.dumps(self.context, sort_keys=True)}" if self.context else ""
        return f"{self.source}: {self.action} on {self.resource}{context}"


# --- the render --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """One environment's names (environments=staging-production: each stack has its own)."""

    region: str
    stack: str
    bucket: str
    prefix: str
    function: str
    role: str
    environment: str = ""  # "", or "staging" / "production"
    alarm_email: str = ""

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{PARTITION}:{service}:{self.region if region else ''}:"
            f"{ACCOUNT if account else ''}:{resource}"
        )

    @property
    def stack_arn(self) -> str:
        return self.arn("cloudformation", f"stack/{self.stack}/{STACK_ID}")

    def object_arn(self, key: str) -> str:
        return self.arn("s3", f"{self.bucket}/{key}", region=False, account=False)


def environments(project: Path) -> list[str]:
    """The environments a render deploys (the model's): [""] (one stack), or staging and
    production."""
    return [env["name"] for env in render_facts(project)["environments"]]


def render_names(project: Path, environment: str = "") -> Names:
    """The names of the stack `sam deploy [--config-env <environment>]` deploys."""
    import tomllib

    config = tomllib.loads((project / "samconfig.toml").read_text())
    section = config[environment or "default"]
    settings = {**config["default"]["global"]["parameters"], **section["deploy"]["parameters"]}
    answers = json.loads((project / ".cookiecutter.json").read_text())["default_context"]
    suffix = f"-{environment}" if environment else ""
    return Names(
        region=settings["region"],
        stack=settings["stack_name"],
        bucket=settings["s3_bucket"],
        prefix=settings["s3_prefix"],
        function=answers["function_name"] + suffix,
        role=answers["lambda_role_name"] + suffix,
        environment=environment,
        alarm_email=answers["alarm_email"],
    )


def transformed_resources(project: Path, region: str) -> dict:
    from tests.helpers import load_yaml, sam_transform

    return sam_transform(load_yaml(project / "template.yml"), region)["Resources"]


@functools.cache
def provider_schema(region: str, resource_type: str) -> dict:
    import cfnlint

    schemas = Path(cfnlint.__file__).parent / "data" / "schemas"
    providers = json.loads((schemas / "providers" / f"{region}.json").read_text())
    assert resource_type in providers, f"{resource_type}: no provider schema in {region}"
    return json.loads((schemas / "resources" / f"{providers[resource_type]}.json").read_text())


def handler_permissions(region: str, resource_type: str) -> dict[str, list[str]]:
    """{handler: permissions} for create/read/update/delete, plus "tagging" (the permissions
    CloudFormation uses to apply its own and the stack's tags). `list` is left out:
    CloudFormation does not list resources during a stack operation."""
    schema = provider_schema(region, resource_type)
    found = {h: schema.get("handlers", {}).get(h, {}).get("permissions", []) for h in HANDLERS}
    tagging = schema.get("tagging", {})
    if tagging.get("taggable") and tagging.get("permissions"):
        found["tagging"] = tagging["permissions"]
    return found


# --- what a handler permission hits --------------------------------------------------------------


def _ref(value) -> str | None:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return value["Ref"]
    return None


def _has_path(resource: dict, path: str) -> bool:
    nodes = [resource]
    for part in path.split("."):
        nodes = [
            child
            for node in nodes
            if isinstance(node, dict)
            for key, child in node.items()
            if part == "*" or key == part
        ]
    return bool(nodes)


def _excluded(resource_type: str, resource: dict, handler: str, permission: str):
    for exclusion in EXCLUSIONS:
        if (
            exclusion.resource_type == resource_type
            and exclusion.permission.lower() == permission.lower()
            and handler in exclusion.handlers
            and not (exclusion.unless and _has_path(resource, exclusion.unless))
        ):
            return exclusion
    return None


def _function_of(resources: dict, logical_id: str) -> str:
    """The logical id of the AWS::Lambda::Function a Lambda resource belongs to."""
    resource = resources[logical_id]
    if resource["Type"] == "AWS::Lambda::Function":
        return logical_id
    return _function_of(resources, _ref(resource["Properties"]["FunctionName"]))


def _lambda_target(names: Names, resources: dict, logical_id: str) -> str:
    """The function (or alias/version) ARN a Lambda resource acts on."""
    resource = resources[logical_id]
    function = names.arn(
        "lambda",
        f"function:{_function_name(names, resources, _function_of(resources, logical_id))}",
    )
    rtype = resource["Type"]
    if rtype == "AWS::Lambda::Alias":
        return f"{function}:{resource['Properties']['Name']}"
    if rtype == "AWS::Lambda::Version":
        return f"{function}:1"
    if rtype == "AWS::Lambda::Permission":
        target = resources.get(_ref(resource["Properties"]["FunctionName"]) or "", {})
        if target.get("Type") == "AWS::Lambda::Alias":
            return f"{function}:{target['Properties']['Name']}"
    return function


CODEDEPLOY_APPLICATION = "ServerlessDeploymentApplication"  # SAM's logical id


def _generated(names: Names, logical_id: str) -> str:
    """A name CloudFormation generates: <stack>-<logical id>-<random suffix>."""
    return f"{names.stack}-{logical_id}-A1B2C3D4E5F6"


def _deployment_config(names: Names, resource: dict) -> str:
    """The deployment configuration of a SAM deployment group, for this environment."""
    value = resource["Properties"]["DeploymentConfigName"]
    if "Fn::If" in value:
        condition, production, other = value["Fn::If"]
        assert condition == "IsProduction", condition
        value = production if names.environment == "production" else other
    template, variables = value["Fn::Sub"]
    return template.replace("${ConfigName}", variables["ConfigName"])


def _codedeploy_target(names: Names, resources: dict, logical_id: str, name: str) -> str:
    """The CodeDeploy ARN a handler hits: the application, its deployment group or the
    deployment configuration."""
    resource = resources[logical_id]
    application = _generated(names, CODEDEPLOY_APPLICATION)
    if resource["Type"] == "AWS::CodeDeploy::Application":
        return names.arn("codedeploy", f"application:{application}")
    if resource["Type"] == "AWS::Lambda::Alias":  # the alias update runs the deployment
        update = resource["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        logical_id = _ref(update["DeploymentGroupName"])
        resource = resources[logical_id]
    if name == "GetDeploymentConfig":
        return names.arn("codedeploy", f"deploymentconfig:{_deployment_config(names, resource)}")
    if name in ("GetApplicationRevision", "RegisterApplicationRevision"):
        return names.arn("codedeploy", f"application:{application}")
    group = _generated(names, logical_id)
    return names.arn("codedeploy", f"deploymentgroup:{application}/{group}")


def _named(names: Names, value) -> str:
    """A per-environment name of template.yml: plain, or `!Sub "<name>-${Environment}"`."""
    if isinstance(value, str):
        return value
    return value["Fn::Sub"].replace("${Environment}", names.environment)  # `-staging` etc.


def _function_name(names: Names, resources: dict, logical_id: str) -> str:
    """The name template.yml gives a function (AWS::Lambda::Function `logical_id`)."""
    return _named(names, resources[logical_id]["Properties"]["FunctionName"])


def _role(names: Names, value) -> str:
    """The role name of a role ARN template.yml writes:
    `!Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/<name>"`."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    return text.rsplit(":role/", 1)[1].replace("${Environment}", names.environment)


def _stack_name_sub(names: Names, value) -> str:
    """A name template.yml writes as `!Sub "${AWS::StackName}-..."` (or `!Ref AWS::StackName`)."""
    if value == {"Ref": "AWS::StackName"}:
        return names.stack
    assert isinstance(value.get("Fn::Sub"), str), value
    return value["Fn::Sub"].replace("${AWS::StackName}", names.stack)


def _apigateway_paths(resources: dict, resource: dict) -> tuple[str, str]:
    """(collection, item) paths of an API Gateway resource."""
    rtype, props = resource["Type"], resource.get("Properties", {})
    if rtype == "AWS::ApiGatewayV2::Api":
        return "/apis", f"/apis/{API_ID}"
    if rtype == "AWS::ApiGatewayV2::Stage":
        return f"/apis/{API_ID}/stages", f"/apis/{API_ID}/stages/{props['StageName']}"
    if rtype == "AWS::ApiGateway::RestApi":
        return "/restapis", f"/restapis/{API_ID}"
    if rtype == "AWS::ApiGateway::Deployment":
        base = f"/restapis/{API_ID}/deployments"
        return base, f"{base}/{DEPLOYMENT_ID}"
    if rtype == "AWS::ApiGateway::Stage":
        base = f"/restapis/{API_ID}/stages"
        return base, f"{base}/{props['StageName']}"
    if rtype in ("AWS::ApiGatewayV2::DomainName", "AWS::ApiGateway::DomainName"):
        return "/domainnames", f"/domainnames/{props['DomainName']}"
    if rtype in ("AWS::ApiGatewayV2::ApiMapping", "AWS::ApiGateway::BasePathMapping"):
        domain = resources[_ref(props["DomainName"])]["Properties"]["DomainName"]
        if rtype == "AWS::ApiGatewayV2::ApiMapping":
            base = f"/domainnames/{domain}/apimappings"
            return base, f"{base}/{MAPPING_ID}"
        base = f"/domainnames/{domain}/basepathmappings"
        return base, f"{base}/(none)"  # the base path API Gateway names an empty one by
    raise KeyError(f"{rtype}: add its API Gateway paths to _apigateway_paths")


def handler_call(
    names: Names, resources: dict, logical_id: str, handler: str, permission: str
) -> Call:
    """The request a handler makes for `permission`: the ARN it hits, the condition keys."""
    resource = resources[logical_id]
    rtype = resource["Type"]
    source = f"{rtype} {handler} handler ({logical_id})"
    service, _, name = permission.partition(":")
    action = f"{service}:{name}"
    context = dict(VIA_CLOUDFORMATION)

    def call(arn: str, **keys) -> Call:
        return Call(action, arn, source, {**context, **keys})

    if no_resource_level(action):
        return call("*")
    if service == "lambda":
        target = _lambda_target(names, resources, logical_id)
        if name in ("AddPermission", "RemovePermission"):
            return call(target, **{"lambda:Principal": resource["Properties"]["Principal"]})
        if name in ("PublishVersion", "ListVersionsByFunction", "CreateAlias"):
            # on the function itself, not on the version or alias being made
            target = target.rsplit(":", 1)[0] if rtype != "AWS::Lambda::Function" else target
        return call(target)
    if service == "iam" and name == "PassRole" and rtype == "AWS::Lambda::Function":
        return call(
            names.arn("iam", f"role/{_role(names, resource['Properties']['Role'])}", region=False),
            **{"iam:PassedToService": "lambda.amazonaws.com"},
        )
    if service == "iam" and name == "PassRole" and rtype == "AWS::CodeDeploy::DeploymentGroup":
        return call(
            names.arn(
                "iam",
                f"role/{_role(names, resource['Properties']['ServiceRoleArn'])}",
                region=False,
            ),
            **{"iam:PassedToService": "codedeploy.amazonaws.com"},
        )
    if service == "codedeploy":
        return call(_codedeploy_target(names, resources, logical_id, name))
    if service == "cloudwatch" and rtype == "AWS::CloudWatch::Alarm":
        alarm = _stack_name_sub(names, resource["Properties"]["AlarmName"])
        return call(names.arn("cloudwatch", f"alarm:{alarm}"))
    if service == "cloudwatch" and rtype == "AWS::CloudWatch::Dashboard":
        dashboard = _stack_name_sub(names, resource["Properties"]["DashboardName"])
        return call(names.arn("cloudwatch", f"dashboard/{dashboard}", region=False))
    if service == "sns" and rtype in ("AWS::SNS::Topic", "AWS::SNS::Subscription"):
        topic = (
            resource
            if rtype == "AWS::SNS::Topic"
            else resources[_ref(resource["Properties"]["TopicArn"])]
        )
        if "TopicName" not in topic.get("Properties", {}):
            raise KeyError(f"{source}: {permission}: name the topic (TopicName) to place its ARN")
        arn = names.arn("sns", _stack_name_sub(names, topic["Properties"]["TopicName"]))
        if name == "Subscribe" and rtype == "AWS::SNS::Subscription":
            endpoint = {"sns:Protocol": resource["Properties"]["Protocol"]}
            return call(arn, **endpoint, **{"sns:Endpoint": names.alarm_email})
        return call(arn)
    if service == "s3" and rtype == "AWS::Lambda::Function":
        return call(names.object_arn(f"{names.prefix}/{ARTIFACT_KEY}"))
    if service == "kms":
        key = resource["Properties"].get("KmsKeyArn") or resource["Properties"].get("KmsKeyId")
        assert isinstance(key, str), f"{source}: {permission}: name the key ARN"
        return call(key)
    if service == "logs" and rtype == "AWS::Logs::LogGroup":
        group = _named(names, resource["Properties"]["LogGroupName"])
        return call(names.arn("logs", f"log-group:{group}:*"))
    if service == "route53" and rtype == "AWS::Route53::RecordSet":
        props = resource["Properties"]
        if name == "GetChange":
            return call(names.arn("route53", f"change/{CHANGE_ID}", region=False, account=False))
        zone = names.arn("route53", f"hostedzone/{props['HostedZoneId']}", False, False)
        if name == "ChangeResourceRecordSets":
            return call(
                zone,
                **{
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                        props["Name"].lower().rstrip(".")
                    ],
                    "route53:ChangeResourceRecordSetsRecordTypes": [props["Type"]],
                    "route53:ChangeResourceRecordSetsActions": [RECORD_ACTIONS[handler]],
                },
            )
        return call(zone)
    if service == "apigateway":
        collection, item = _apigateway_paths(resources, resource)
        item_arn = names.arn("apigateway", item, account=False)
        if handler == "tagging" and name in ("GET", "PUT", "DELETE", "POST"):
            # API Gateway's TagResource/UntagResource/GetTags: /tags/{url-encoded ARN}
            return call(names.arn("apigateway", f"/tags/{quote(item_arn, safe='')}", account=False))
        if name in ("POST", "TagResource") and handler == "create":
            # Creating is a POST on the collection; so is tag-on-create's check (the public
            # AccessDenied names ".../apis/ID/stages": aws-amplify/amplify-cli#12316).
            return call(names.arn("apigateway", collection, account=False))
        return call(item_arn)
    raise KeyError(
        f"{source}: {permission}: no rule for the ARN it hits; add one to handler_call, or an "
        "exclusion to EXCLUSIONS"
    )


# --- sam deploy's and sam delete's own calls ---------------------------------------------------


def sam_deploy_calls(names: Names) -> list[Call]:
    """aws-sam-cli 1.170 `sam deploy` with the rendered samconfig.toml (s3_bucket,
    s3_prefix, on_failure = DELETE): upload, change set, execute, wait, and the deletion of
    a stack whose creation failed (Deployer.rollback_delete_stack)."""
    stack = names.stack_arn
    transform = f"arn:{PARTITION}:cloudformation:{names.region}:aws:transform/Serverless-2016-10-31"
    artifact = names.object_arn(f"{names.prefix}/{ARTIFACT_KEY}")
    template = names.object_arn(f"{names.prefix}/{ARTIFACT_KEY}.template")
    cfn = "cloudformation"
    return [
        # S3Uploader.file_exists (HeadObject is authorised as s3:GetObject), then upload
        Call("s3:GetObject", artifact, "sam deploy: is the artifact uploaded (HeadObject)"),
        Call("s3:PutObject", artifact, "sam deploy: upload the artifact"),
        Call("s3:GetObject", template, "sam deploy: is the template uploaded (HeadObject)"),
        Call("s3:PutObject", template, "sam deploy: upload the template"),
        Call(f"{cfn}:DescribeStacks", stack, "sam deploy: does the stack exist (has_stack)"),
        Call(f"{cfn}:GetTemplateSummary", stack, "sam deploy: parameters of the stack (update)"),
        Call(f"{cfn}:CreateChangeSet", stack, "sam deploy: create the change set"),
        Call(
            f"{cfn}:CreateChangeSet", transform, "sam deploy: the change set uses the SAM transform"
        ),
        Call(
            "s3:GetObject",
            template,
            "CloudFormation: reads TemplateURL with the caller's credentials",
            dict(VIA_CLOUDFORMATION),
        ),
        Call(f"{cfn}:DescribeChangeSet", stack, "sam deploy: wait for the change set (waiter)"),
        Call(f"{cfn}:ExecuteChangeSet", stack, "sam deploy: execute the change set"),
        Call(f"{cfn}:DescribeStackEvents", stack, "sam deploy: stream the stack events"),
        Call(f"{cfn}:DescribeStacks", stack, "sam deploy: wait for the stack, read its outputs"),
        # on_failure = DELETE: a stack whose creation failed is deleted, not left behind
        Call(
            f"{cfn}:DeleteStack", stack, "sam deploy --on-failure DELETE: delete the failed stack"
        ),
    ]


def sam_delete_calls(names: Names) -> list[Call]:
    """aws-sam-cli 1.170 `sam delete --no-prompts` with the rendered samconfig.toml."""
    from samcli.lib.bootstrap.companion_stack.data_types import CompanionStack

    stack = names.stack_arn
    companion = names.arn(
        "cloudformation", f"stack/{CompanionStack(names.stack).stack_name}/{STACK_ID}"
    )
    artifact = names.object_arn(f"{names.prefix}/{ARTIFACT_KEY}")
    bucket = names.arn("s3", names.bucket, region=False, account=False)
    cfn = "cloudformation"
    return [
        Call(f"{cfn}:GetTemplate", stack, "sam delete: the stack's original template"),
        Call(f"{cfn}:DescribeStacks", companion, "sam delete: is there an ECR companion stack"),
        Call("s3:GetObject", artifact, "sam delete: does the artifact exist (HeadObject)"),
        Call("s3:DeleteObject", artifact, "sam delete: delete the artifact"),
        Call(
            "s3:ListBucket",
            bucket,
            "sam delete: list the artifacts under the prefix",
            {"s3:prefix": f"{names.prefix}/"},
        ),
        Call(f"{cfn}:DeleteStack", stack, "sam delete: delete the stack"),
        Call(f"{cfn}:DescribeStacks", stack, "sam delete: wait for the deletion (waiter)"),
    ]


# --- what API Gateway calls on the caller's behalf -----------------------------------------------

# API Gateway developer guide, "Configuring logging for an HTTP API", "Permissions to activate
# logging": creating or updating an HTTP API stage with access logging sets up CloudWatch Logs'
# log delivery with the caller's credentials. AWS::ApiGatewayV2::Stage's provider schema does
# not list these permissions. (A REST API stage writes through the account's API Gateway
# CloudWatch role instead, which infra/bootstrap.yml sets: nothing from the caller.)
HTTP_API_ACCESS_LOGGING = [
    "logs:CreateLogDelivery",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:CreateLogGroup",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
]


def access_logging_calls(names: Names, resources: dict) -> list[Call]:
    """The log delivery calls of each HTTP API stage that has access logging, on its
    destination log group (or `*` for actions without resource-level permissions)."""
    calls = []
    for logical_id, resource in sorted(resources.items()):
        if resource["Type"] != "AWS::ApiGatewayV2::Stage":
            continue
        settings = resource.get("Properties", {}).get("AccessLogSettings")
        if not settings:
            continue
        (group_id, _) = settings["DestinationArn"]["Fn::GetAtt"]
        group = _named(names, resources[group_id]["Properties"]["LogGroupName"])
        source = f"API Gateway for AWS::ApiGatewayV2::Stage access logging ({logical_id})"
        context = {
            "aws:CalledVia": ["cloudformation.amazonaws.com", "apigateway.amazonaws.com"],
            "aws:ViaAWSService": "true",
        }
        for action in HTTP_API_ACCESS_LOGGING:
            arn = "*" if no_resource_level(action) else names.arn("logs", f"log-group:{group}:*")
            calls.append(Call(action, arn, source, context))
    return calls


# --- the whole deploy ----------------------------------------------------------------------------


def deploy_calls(
    project: Path, environment: str = ""
) -> tuple[list[Call], list[tuple[str, Exclusion]]]:
    """Every call of a first deploy, an update and a deletion of the rendered stack (of
    `environment`, with environments=staging-production), and the handler permissions left
    out by an exclusion (as (where, exclusion))."""
    names = render_names(project, environment)
    resources = transformed_resources(project, names.region)
    calls = sam_deploy_calls(names) + sam_delete_calls(names)
    calls += access_logging_calls(names, resources)
    excluded = []
    for logical_id, resource in sorted(resources.items()):
        for handler, permissions in handler_permissions(names.region, resource["Type"]).items():
            for permission in permissions:
                exclusion = _excluded(resource["Type"], resource, handler, permission)
                if exclusion:
                    excluded.append((f"{resource['Type']} {handler} ({logical_id})", exclusion))
                else:
                    calls.append(handler_call(names, resources, logical_id, handler, permission))
    return calls, excluded


# --- a small IAM policy evaluator ----------------------------------------------------------------


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@functools.cache
def _compiled(pattern: str, case: bool) -> re.Pattern:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case else re.IGNORECASE | re.DOTALL)


def _glob(pattern: str, value: str, case: bool = True) -> bool:
    """IAM's wildcard match: `*` any run of characters, `?` any one; nothing else special."""
    return _compiled(pattern, case).fullmatch(value) is not None


_OPERATORS = {
    "StringEquals": lambda v, w: v == w,
    "StringEqualsIgnoreCase": lambda v, w: v.lower() == w.lower(),
    "StringLike": lambda v, w: _glob(w, v),
    "ArnEquals": lambda v, w: v == w,
    "ArnLike": lambda v, w: _glob(w, v),
    "Bool": lambda v, w: v.lower() == w.lower(),
}


def _condition_holds(operator: str, key: str, expected, context: dict) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    present = key in context
    if op != "Null" and op.replace("Not", "", 1) not in _OPERATORS:
        raise NotImplementedError(f"condition operator {operator}: teach the evaluator")
    if op == "Null":
        return (not present) == (str(expected).lower() == "true")
    if not present:
        return if_exists or op.startswith(("StringNot", "ArnNot"))
    values = [str(v) for v in _as_list(context[key])]
    wanted = [str(v) for v in _as_list(expected)]
    negated = op.replace("Not", "", 1) if op.startswith(("StringNot", "ArnNot")) else None
    test = _OPERATORS[negated or op]

    def matches(value: str) -> bool:
        hit = any(test(value, w) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(matches(v) for v in values)
    return any(matches(v) for v in values)  # single-valued keys and ForAnyValue


def _statement_matches(statement: dict, call: Call) -> bool:
    if "Action" in statement:
        if not any(_glob(a, call.action, case=False) for a in _as_list(statement["Action"])):
            return False
    elif any(_glob(a, call.action, case=False) for a in _as_list(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(_glob(r, call.resource) for r in _as_list(statement["Resource"])):
            return False
    elif any(_glob(r, call.resource) for r in _as_list(statement["NotResource"])):
        return False
    return all(
        _condition_holds(operator, key, expected, call.context)
        for operator, keys in statement.get("Condition", {}).items()
        for key, expected in keys.items()
    )


def is_allowed(policy: dict, call: Call) -> bool:
    """An identity policy's decision: an explicit Deny wins, then any Allow; else denied."""
    matching = [s for s in _as_list(policy["Statement"]) if _statement_matches(s, call)]
    if any(s["Effect"] == "Deny" for s in matching):
        return False
    return any(s["Effect"] == "Allow" for s in matching)


def unmet_permissions(
    project: Path, policy: dict | None = None, environment: str = ""
) -> list[str]:
    """Every call of the deploy (see deploy_calls) that `policy` (default: the render's
    deploy policy of `environment`) does not allow, each naming who makes it, the action, the
    ARN it would hit and the condition keys. Empty when the policy is enough."""
    if policy is None:
        policy = json.loads(policy_path(project, environment).read_text())
    calls, _ = deploy_calls(project, environment)
    return unmet(policy, calls)


def unmet(policy: dict, calls: list[Call]) -> list[str]:
    """The calls `policy` does not allow, described (see unmet_permissions)."""
    return sorted({call.describe() for call in calls if not is_allowed(policy, call)})


def unused_grants(project: Path, policy: dict | None = None, environment: str = "") -> list[str]:
    """Every (statement, action) of `policy` that no call of the deploy needs."""
    if policy is None:
        policy = json.loads(policy_path(project, environment).read_text())
    calls, _ = deploy_calls(project, environment)
    return unused(policy, calls)


def unused(policy: dict, calls: list[Call]) -> list[str]:
    """The (statement, action) pairs of `policy` that none of `calls` needs."""
    unused = []
    for statement in _as_list(policy["Statement"]):
        for action in _as_list(statement.get("Action", [])):
            narrowed = {**statement, "Action": action}
            if not any(_statement_matches(narrowed, call) for call in calls):
                unused.append(f"{statement.get('Sid', '?')}: {action}")
    return unused
