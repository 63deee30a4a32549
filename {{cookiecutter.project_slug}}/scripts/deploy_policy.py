"""Is the deploy policy still enough for template.yml? Ask before you deploy.

    python scripts/deploy_policy.py check     # exit 1 and the list of what is missing
    python scripts/deploy_policy.py suggest   # the statements to add, as JSON
    python scripts/deploy_policy.py apply     # add them to iam/ and to infra/bootstrap.yml

`check` lists every permission a deploy of this service needs that iam/deploy-policy*.json
and the DeployPolicy of infra/bootstrap.yml (the same document, deployed with the
bootstrap stack) do not grant: who asks for it (the resource and its handler, or `sam
deploy`), the action, the ARN it would hit (111122223333 stands for the account,
A1B2C3D4E5F6 for a name CloudFormation generates) and why. `suggest` prints the statements
that would grant exactly that, scoped to the ARNs, with the conditions the policy already
uses; `apply` adds them to every policy file and to the bootstrap, and `check` then passes.
Redeploy the bootstrap stack before the service (docs/deployment.md, "When you add a
resource"). Exit codes: 0 enough (or done), 1 permissions missing, 2 bad input (one line
naming the file and the problem; nothing is written).

Where the calls come from, per stack of samconfig.toml (each config env with deploy
parameters: its region, stack name, bucket, prefix and parameter overrides):
- CloudFormation's resource handlers, which run with the caller's credentials (no service
  role): their permissions per handler are in the resource-provider schemas that cfn-lint
  bundles for each region. template.yml goes through the SAM transform (aws-sam-translator)
  first, so the resources SAM generates are checked too.
- `sam deploy` itself (upload, change set, execute, the deletion of a failed first deploy)
  and `sam delete --no-prompts`, as aws-sam-cli 1.170 makes them with samconfig.toml.
- API Gateway setting up an HTTP API stage's access logging with the caller's credentials.

A handler permission the deploy does not need is listed in EXCLUSIONS with its reason and the
property whose presence voids it. A resource type without an ARN model here is still
checked: its ARNs follow cfn-lint's copy of the Service Authorization Reference, and
`suggest` flags those statements for review (their Sid starts with "Review").
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import logging
import os
import re
import shlex
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO, TypedDict, Unpack, cast
from urllib.parse import quote

import yaml

PROJECT = Path(__file__).resolve().parents[1]
ACCOUNT = "111122223333"  # any account: the policy files say `*`, the bootstrap its own
PARTITION = "aws"
# Placeholders for what AWS names at creation; each is `*` in a suggested grant.
API_ID = "a1b2c3d4e5"
DEPLOYMENT_ID = "dep123"
MAPPING_ID = "map123"
CHANGE_ID = "C0123456789ABCDEFGHIJ"  # a Route 53 change
STACK_ID = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
ARTIFACT_KEY = "0123456789abcdef0123456789abcdef"  # sam uploads artifacts under their MD5
GENERATED = "A1B2C3D4E5F6"  # the suffix of a name CloudFormation generates
UNRESOLVED = "UNRESOLVED0NAME"  # a name this tool cannot work out from template.yml
OBJECT_KEY = "OBJECT0KEY"
PLACEHOLDERS = (
    GENERATED,
    GENERATED.lower(),
    UNRESOLVED,
    OBJECT_KEY,
    ARTIFACT_KEY,
    STACK_ID,
    CHANGE_ID,
    API_ID,
    DEPLOYMENT_ID,
    MAPPING_ID,
    ACCOUNT,
)
RECORD_ACTIONS = {"create": "CREATE", "update": "UPSERT", "delete": "DELETE"}
HANDLERS = ("create", "read", "update", "delete")
VIA_CLOUDFORMATION = {
    "aws:CalledVia": ["cloudformation.amazonaws.com"],
    "aws:ViaAWSService": "true",
}
PSEUDO_PARAMETERS = {
    "AWS::Partition": PARTITION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
}


# JSON-ish data: a template's resource (Type, Properties, Condition, UpdatePolicy, ...), a
# template, an IAM policy document and one of its statements, as YAML or JSON loads them.
# (Implicit aliases: the `type` statement needs Python 3.12, this tool runs on 3.11 too.)
Resource = dict[str, Any]
Template = dict[str, Any]
Policy = dict[str, Any]
Statement = dict[str, Any]


class InputError(Exception):
    """A file this tool cannot use: the message names it and the problem, on one line."""


# --- the reviewed exclusions -------------------------------------------------------------------


@dataclass(frozen=True)
class Exclusion:
    """A handler permission the deploy does not need. `unless` holds property paths (dots,
    `*` for any key; `UpdatePolicy`, `Condition` etc. at the top of the resource) whose
    presence voids the exclusion: the day a template sets one, the permission is needed."""

    resource_type: str
    permission: str
    reason: str
    handlers: tuple[str, ...] = (*HANDLERS, "tagging")
    unless: tuple[str, ...] = ()
    authorised_as: str = ""  # for an API operation that is no IAM action: the one it needs


def _x(
    resource_type: str,
    permissions: str,
    reason: str,
    unless: str | Iterable[str] = (),
    handlers: tuple[str, ...] = (*HANDLERS, "tagging"),
) -> list[Exclusion]:
    unless = (unless,) if isinstance(unless, str) else tuple(unless)
    return [Exclusion(resource_type, p, reason, handlers, unless) for p in permissions.split()]


# Keyed by resource type; one line per permission. Add one only with a reason you checked.
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
    # CodeDeploy (canary deployments), SNS (the alarms' topic)
    *_x(
        "AWS::CodeDeploy::DeploymentGroup",
        "codedeploy:RegisterOnPremisesInstance",
        "Lambda compute platform: no on-premises instances to register",
        "Properties.OnPremisesInstanceTagFilters",
    ),
    *_x(
        "AWS::SNS::Topic",
        "sns:Subscribe sns:Unsubscribe",
        "no Subscription property: subscriptions are AWS::SNS::Subscription resources",
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
    *_x(
        "AWS::ApiGatewayV2::DomainName",
        "apigateway:AddCertificateToDomain apigateway:RemoveCertificateFromDomain "
        "s3:GetObject s3:GetObjectVersion",
        "no MutualTlsAuthentication: no truststore to read from S3, no certificate for mutual "
        "TLS to add (the IAM reference: an extra check for mutual TLS domain names)",
        "Properties.MutualTlsAuthentication",
    ),
    # AWS::DynamoDB::Table
    *_x(
        "AWS::DynamoDB::Table",
        "kms:CreateGrant kms:Decrypt kms:DescribeKey kms:ListAliases kms:Encrypt kms:RevokeGrant",
        "no SSESpecification.KMSMasterKeyId: the table is encrypted with a key DynamoDB owns, or "
        "with the AWS managed key aws/dynamodb, whose key policy lets the account's principals "
        "use it through DynamoDB",
        "Properties.SSESpecification.KMSMasterKeyId",
    ),
    *_x(
        "AWS::DynamoDB::Table",
        "dynamodb:CreateTableReplica dynamodb:AssociateTableReplica dynamodb:BatchWriteItem "
        "dynamodb:DeleteItem dynamodb:GetItem dynamodb:PutItem dynamodb:Query dynamodb:Scan "
        "dynamodb:UpdateItem",
        "AWS::DynamoDB::Table makes no replicas (AWS::DynamoDB::GlobalTable does): adding a "
        "replica is what needs the replica actions and, to fill it, the item operations (the "
        "DynamoDB developer guide's global tables permissions); the deploy identity never reads "
        "or writes items (undocumented per property: a real deploy confirms)",
    ),
    *_x(
        "AWS::DynamoDB::Table",
        "dynamodb:UpdateContributorInsights",
        "no ContributorInsightsSpecification",
        "Properties.ContributorInsightsSpecification",
    ),
    *_x(
        "AWS::DynamoDB::Table",
        "dynamodb:UpdateTimeToLive",
        "no TimeToLiveSpecification: items do not expire",
        "Properties.TimeToLiveSpecification",
    ),
    *_x(
        "AWS::DynamoDB::Table",
        "kinesis:DescribeStream kinesis:PutRecords dynamodb:EnableKinesisStreamingDestination "
        "dynamodb:DisableKinesisStreamingDestination dynamodb:UpdateKinesisStreamingDestination",
        "no KinesisStreamSpecification: no item changes are streamed to Kinesis",
        "Properties.KinesisStreamSpecification",
    ),
    *_x(
        "AWS::DynamoDB::Table",
        "iam:CreateServiceLinkedRole",
        "no KinesisStreamSpecification or ContributorInsightsSpecification: DynamoDB's "
        "service-linked roles are for Kinesis streaming and Contributor Insights (DynamoDB "
        "developer guide)",
        ("Properties.KinesisStreamSpecification", "Properties.ContributorInsightsSpecification"),
    ),
    *_x(
        "AWS::DynamoDB::Table",
        "dynamodb:ImportTable dynamodb:DescribeImport s3:GetObject s3:GetObjectMetadata "
        "s3:ListBucket logs:CreateLogGroup logs:CreateLogStream logs:DescribeLogGroups "
        "logs:DescribeLogStreams logs:PutLogEvents logs:PutRetentionPolicy",
        "no ImportSourceSpecification: the table is not created from an import from S3 (which "
        "reads the bucket and logs to CloudWatch Logs)",
        "Properties.ImportSourceSpecification",
    ),
    *_x(
        "AWS::DynamoDB::Table",
        "dynamodb:PutResourcePolicy dynamodb:DeleteResourcePolicy",
        "no ResourcePolicy: the table has no resource-based policy",
        "Properties.ResourcePolicy",
    ),
    # AWS::S3::Bucket
    *_x(
        "AWS::S3::Bucket",
        "iam:PassRole",
        "no ReplicationConfiguration: no replication role is passed to S3",
        "Properties.ReplicationConfiguration",
    ),
    *_x(
        "AWS::S3::Bucket",
        "s3tables:CreateNamespace s3tables:CreateTable s3tables:CreateTableBucket "
        "s3tables:GetTable s3tables:PutTableBucketPolicy s3tables:PutTableEncryption "
        "s3tables:PutTablePolicy s3tables:GetTableMetadataLocation "
        "s3tables:UpdateTableMetadataLocation s3:CreateBucketMetadataTableConfiguration "
        "s3:DeleteBucketMetadataTableConfiguration "
        "s3:UpdateBucketMetadataJournalTableConfiguration "
        "s3:UpdateBucketMetadataInventoryTableConfiguration "
        "s3:UpdateBucketMetadataAnnotationTableConfiguration",
        "no MetadataConfiguration or MetadataTableConfiguration: no S3 Metadata tables",
        ("Properties.MetadataConfiguration", "Properties.MetadataTableConfiguration"),
    ),
    # The S3::Bucket handlers list some API operations that are no IAM action; S3 authorises
    # each with another action, which the handlers list too (Amazon S3 API reference).
    *(
        Exclusion(
            "AWS::S3::Bucket",
            operation,
            f"not an IAM action: S3 authorises {operation.partition(':')[2]} as {action}",
            authorised_as=action,
        )
        for operation, action in {
            "s3:DeleteBucketAnalyticsConfiguration": "s3:PutAnalyticsConfiguration",
            "s3:DeleteBucketCors": "s3:PutBucketCORS",
            "s3:DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
            "s3:DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
            "s3:DeleteBucketMetricsConfiguration": "s3:PutMetricsConfiguration",
            "s3:DeleteBucketReplication": "s3:PutReplicationConfiguration",
            "s3:DeleteBucketTagging": "s3:PutBucketTagging",
            "s3:PutBucketReplication": "s3:PutReplicationConfiguration",
            "s3:PutObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
        }.items()
    ),
]


def _has_path(resource: Resource, path: str) -> bool:
    nodes: list[object] = [resource]
    for part in path.split("."):
        nodes = [
            child
            for node in nodes
            if isinstance(node, dict)
            for key, child in node.items()
            if part == "*" or key == part
        ]
    return bool(nodes)


def excluded(resource: Resource, handler: str, permission: str) -> Exclusion | None:
    """The exclusion that leaves `permission` of `handler` out for this resource, if any."""
    for exclusion in EXCLUSIONS:
        if (
            exclusion.resource_type == resource["Type"]
            and exclusion.permission.lower() == permission.lower()
            and handler in exclusion.handlers
            and not any(_has_path(resource, path) for path in exclusion.unless)
        ):
            return exclusion
    return None


# --- one authorised request ----------------------------------------------------------------------


def grant_pattern(arn: str) -> str:
    """The ARN to grant for a call's ARN: each placeholder (account, generated name or ID)
    becomes `*`."""
    for placeholder in PLACEHOLDERS:
        arn = arn.replace(placeholder, "*")
    return re.sub(r"\*+", "*", arn)


@dataclass(frozen=True)
class Call:
    """One authorised request: `action` on `resource` with the request's condition keys."""

    action: str
    resource: str
    source: str  # who makes it: "AWS::X::Y create handler (LogicalId)", "sam deploy: ..."
    context: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    why: str = field(default="", compare=False)
    review: str = field(default="", compare=False)  # why the ARN is a guess, if it is
    grant: str = field(default="", compare=False)  # the ARN pattern to grant; "" = derived
    logical_id: str = field(default="", compare=False)
    handler: str = field(default="", compare=False)  # create, read, update, delete, tagging

    @property
    def grant_arn(self) -> str:
        return self.grant or grant_pattern(self.resource)

    def describe(self) -> str:
        context = f" with {json.dumps(self.context, sort_keys=True)}" if self.context else ""
        return f"{self.source}: {self.action} on {self.resource}{context}"

    @property
    def conditions(self) -> str:
        """The request's own condition keys (not the global `aws:` ones), for a reader."""
        keys = {k: v for k, v in self.context.items() if not k.startswith("aws:")}
        return f" with {json.dumps(keys, sort_keys=True)}" if keys else ""


# --- the project's files ------------------------------------------------------------------------


class TaggedLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags: `!Name value` becomes its full form."""


def _construct_tag(loader: TaggedLoader, suffix: str, node: yaml.Node) -> dict[str, object]:
    if isinstance(node, yaml.ScalarNode):
        value: object = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:  # a MappingNode: the composer makes no other kind of node
        value = loader.construct_mapping(cast(yaml.MappingNode, node), deep=True)
    key = "Ref" if suffix == "Ref" else ("Condition" if suffix == "Condition" else "Fn::" + suffix)
    return {key: value}


TaggedLoader.add_multi_constructor("!", _construct_tag)


def _relative(project: Path, path: Path) -> str:
    try:
        return path.relative_to(project).as_posix()
    except ValueError:
        return str(path)


def _read(project: Path, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"{_relative(project, path)}: cannot read it: {error.strerror}") from None


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def load_cloudformation(project: Path, path: Path) -> Template:
    """A CloudFormation template (YAML or JSON) as plain data, or InputError."""
    text = _read(project, path)
    try:
        data = yaml.load(text, Loader=TaggedLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        raise InputError(
            f"{_relative(project, path)}: does not parse: {_one_line(error)}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise InputError(f"{_relative(project, path)}: not a template: no Resources mapping")
    return data


def read_policy(project: Path, path: Path) -> Policy:
    """A policy file as JSON, or InputError."""
    try:
        policy = json.loads(_read(project, path))
    except json.JSONDecodeError as error:
        raise InputError(f"{_relative(project, path)}: not JSON: {error}") from None
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise InputError(f"{_relative(project, path)}: not an IAM policy: no Statement")
    return policy


@dataclass(frozen=True)
class Target:
    """One stack of samconfig.toml: `sam deploy [--config-env <config_env>]`."""

    config_env: str
    region: str
    stack: str
    bucket: str
    prefix: str
    overrides: tuple[tuple[str, str], ...] = ()

    @property
    def environment(self) -> str:
        """ "" for the default config env, else its name (staging, production)."""
        return "" if self.config_env == "default" else self.config_env


def policy_path(project: Path, environment: str = "") -> Path:
    """The policy file of an environment: iam/deploy-policy[-<environment>].json."""
    name = f"deploy-policy-{environment}.json" if environment else "deploy-policy.json"
    return Path(project) / "iam" / name


def bootstrap_resource(environment: str = "") -> str:
    """The bootstrap's DeployPolicy resource of an environment (DeployPolicyStaging, ...)."""
    return "DeployPolicy" + environment.capitalize()


def targets(project: Path) -> list[Target]:
    """Every stack samconfig.toml deploys: each config env with deploy parameters."""
    path = Path(project) / "samconfig.toml"
    try:
        config = tomllib.loads(_read(project, path))
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"samconfig.toml: not TOML: {_one_line(error)}") from None
    found = []
    for env, commands in config.items():
        if not isinstance(commands, dict) or "deploy" not in commands:
            continue
        settings = {
            **config.get("default", {}).get("global", {}).get("parameters", {}),
            **commands.get("global", {}).get("parameters", {}),
            **commands["deploy"].get("parameters", {}),
        }
        missing = {"region", "stack_name", "s3_bucket", "s3_prefix"} - set(settings)
        if missing:
            raise InputError(f"samconfig.toml: [{env}.deploy.parameters] lacks {sorted(missing)}")
        pairs = [
            item.split("=", 1) for item in shlex.split(settings.get("parameter_overrides", ""))
        ]
        found.append(
            Target(
                config_env=env,
                region=settings["region"],
                stack=settings["stack_name"],
                bucket=settings["s3_bucket"],
                prefix=settings["s3_prefix"],
                overrides=tuple((k, v) for k, v in (p for p in pairs if len(p) == 2)),
            )
        )
    if not found:
        raise InputError("samconfig.toml: no config env has deploy parameters")
    return found


def environments(project: Path) -> list[str]:
    """The environments the project deploys: [""] (one stack), or e.g. staging, production."""
    return [target.environment for target in targets(project)]


def target(project: Path, environment: str = "") -> Target:
    for found in targets(project):
        if found.environment == environment:
            return found
    raise InputError(f"samconfig.toml: no config env {environment or 'default'}")


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


@functools.cache
def _transformed(text: str, region: str) -> str:
    from samtranslator.translator.transform import transform

    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    template = yaml.load(text, Loader=TaggedLoader)  # noqa: S506 (a SafeLoader subclass)
    for resource in template["Resources"].values():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://artifact-bucket/artifact.zip"
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        return json.dumps(transform(template, {}, _NoManagedPolicies()))
    finally:
        if previous is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def transformed_template(project: Path, region: str) -> Template:
    """template.yml as CloudFormation runs it: through the SAM transform (offline)."""
    path = Path(project) / "template.yml"
    load_cloudformation(project, path)  # a clear error first
    text = _read(project, path)
    try:
        template: Template = json.loads(_transformed(text, region))
    except Exception as error:  # the transform's errors have no common base class
        raise InputError(
            f"template.yml: the SAM transform refuses it: {_one_line(error)}"
        ) from None
    return template


# --- the schemas cfn-lint bundles ---------------------------------------------------------------


def _cfnlint_data() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("cfn-lint is not installed: uv sync (its dev group has it)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@functools.cache
def _providers(region: str) -> dict[str, str]:
    path = _cfnlint_data() / "schemas" / "providers" / f"{region}.json"
    if not path.is_file():
        raise InputError(f"samconfig.toml: cfn-lint has no provider schemas for region {region}")
    providers: dict[str, str] = json.loads(path.read_text())  # {resource type: schema name}
    return providers


@functools.cache
def provider_schema(region: str, resource_type: str) -> dict[str, Any] | None:
    """The resource-provider schema of a type in a region, or None if cfn-lint has none."""
    name = _providers(region).get(resource_type)
    if name is None:
        return None
    path = _cfnlint_data() / "schemas" / "resources" / f"{name}.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def handler_permissions(region: str, resource_type: str) -> dict[str, list[str]]:
    """{handler: permissions} for create/read/update/delete, plus "tagging" (the permissions
    CloudFormation uses to apply its own and the stack's tags). `list` is left out:
    CloudFormation does not list resources during a stack operation."""
    schema = provider_schema(region, resource_type) or {}
    found: dict[str, list[str]] = {
        h: schema.get("handlers", {}).get(h, {}).get("permissions", []) for h in HANDLERS
    }
    tagging = schema.get("tagging", {})
    if tagging.get("taggable") and tagging.get("permissions"):
        found["tagging"] = tagging["permissions"]
    return found


@functools.cache
def iam_actions() -> dict[str, Any]:
    """cfn-lint's copy of the Service Authorization Reference: per service, its actions
    (with the resource types each authorises against) and resource types (ARN formats)."""
    path = _cfnlint_data() / "AdditionalSpecs" / "Policies.json"
    reference: dict[str, Any] = json.loads(path.read_text())
    return reference


def _action_entry(action: str) -> dict[str, Any] | None:
    service, _, name = action.partition(":")
    entry: dict[str, Any] | None = (
        iam_actions().get(service, {}).get("Actions", {}).get(name.lower())
    )
    return entry


def no_resource_level(action: str) -> bool:
    """Whether IAM authorises `action` against `*` only (no resource-level permission). An
    action the reference does not list is taken to name its resource."""
    entry = _action_entry(action)
    return entry is not None and not entry.get("Resources")


def resource_types(action: str) -> list[str]:
    """The resource types (`table`, `bucket`, `object`, ...) IAM authorises `action` on."""
    entry = _action_entry(action) or {}
    return list(entry.get("Resources", []))


# --- the names of a stack -----------------------------------------------------------------------


class UnresolvedError(Exception):
    """A value that depends on something only CloudFormation knows (an attribute, an ID)."""


@dataclass
class Stack:
    """One stack's names, and template.yml's values resolved as CloudFormation would."""

    target: Target
    template: Template  # the transformed template

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def name(self) -> str:
        return self.target.stack

    @property
    def resources(self) -> dict[str, Resource]:
        resources: dict[str, Resource] = self.template["Resources"]
        return resources

    @functools.cached_property
    def parameters(self) -> dict[str, str]:
        values = {
            key: str(spec["Default"])
            for key, spec in self.template.get("Parameters", {}).items()
            if isinstance(spec, dict) and "Default" in spec
        }
        values.update(dict(self.target.overrides))
        values.update(PSEUDO_PARAMETERS)
        values.update({"AWS::Region": self.region, "AWS::StackName": self.name})
        return values

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{PARTITION}:{service}:{self.region if region else ''}:"
            f"{ACCOUNT if account else ''}:{resource}"
        )

    @property
    def stack_arn(self) -> str:
        return self.arn("cloudformation", f"stack/{self.name}/{STACK_ID}")

    def object_arn(self, key: str) -> str:
        return self.arn("s3", f"{self.target.bucket}/{key}", region=False, account=False)

    def resolve(self, value: object) -> str:
        """A value of template.yml as a string, its intrinsic functions worked out (or
        UnresolvedError)."""
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, str | int | float):
            return str(value)
        if not (isinstance(value, dict) and len(value) == 1):
            raise UnresolvedError(json.dumps(value))
        ((function, argument),) = value.items()
        if function == "Ref":
            if argument in self.parameters:
                return self.parameters[argument]
            raise UnresolvedError(f"Ref {argument}")
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                if name in variables:
                    return self.resolve(variables[name])
                if name in self.parameters:
                    return self.parameters[name]
                if name.endswith(".Arn"):
                    return self.resolve({"Fn::GetAtt": name.split(".", 1)})
                raise UnresolvedError("${" + name + "}")

            return re.sub(r"\$\{([^}]+)\}", substitute, text)
        if function == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if function == "Fn::Join":
            separator: str
            separator, items = argument
            if not isinstance(items, list):
                raise UnresolvedError("Fn::Join of a list function")
            return separator.join(self.resolve(item) for item in items)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument
            resource = self.resources.get(logical_id, {})
            if attribute == "Arn" and resource.get("Type") == "AWS::IAM::Role":
                return self.arn("iam", f"role/{self.physical_name(logical_id)}", region=False)
        raise UnresolvedError(f"{function} {json.dumps(argument)}")

    def condition(self, name: str | dict[str, Any]) -> bool:
        """A condition of template.yml, evaluated with the stack's parameter values."""
        if isinstance(name, str):
            return self.condition(self.template.get("Conditions", {})[name])
        ((function, argument),) = name.items()
        if function == "Fn::Equals":
            return self.resolve(argument[0]) == self.resolve(argument[1])
        if function == "Fn::Not":
            return not self.condition(argument[0])
        if function == "Fn::And":
            return all(self.condition(c) for c in argument)
        if function == "Fn::Or":
            return any(self.condition(c) for c in argument)
        if function == "Condition":
            return self.condition(argument)
        raise UnresolvedError(f"condition {function}")

    def exists(self, logical_id: str) -> bool:
        """Whether the stack creates the resource: its Condition, if any, holds."""
        condition = self.resources[logical_id].get("Condition")
        try:
            return condition is None or self.condition(condition)
        except UnresolvedError:
            return True

    def physical_name(self, logical_id: str) -> str:
        """The name a resource gets: its name property, or the one CloudFormation generates
        (`<stack>-<logical id>-<suffix>`; GENERATED stands for the suffix). UNRESOLVED
        stands for a name only known at deploy time."""
        resource = self.resources[logical_id]
        rtype = resource["Type"]
        props = resource.get("Properties", {})
        prop = NAME_PROPERTIES.get(rtype)
        if prop and prop in props:
            try:
                return self.resolve(props[prop])
            except UnresolvedError:
                return UNRESOLVED
        generated = f"{self.name}-{logical_id}-{GENERATED}"
        if rtype == "AWS::S3::Bucket":
            return generated.lower()
        if rtype == "AWS::SQS::Queue" and str(props.get("FifoQueue", "")).lower() == "true":
            return generated + ".fifo"
        return generated


# The property that names a resource, per type (others get a generated name).
NAME_PROPERTIES = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::CodeDeploy::Application": "ApplicationName",
    "AWS::CodeDeploy::DeploymentGroup": "DeploymentGroupName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Kinesis::Stream": "Name",
}


def _sam_cli_stack(stack: str, prefix: int, suffix: str) -> str:
    digest = hashlib.md5(stack.encode(), usedforsecurity=False).hexdigest()
    return f"{stack[:prefix]}-{digest[:8]}{suffix}"


def companion_stack(stack: str) -> str:
    """The ECR companion stack `sam delete` looks for (samcli CompanionStack.stack_name)."""
    return _sam_cli_stack(stack, 104, "-CompanionStack")


def code_bucket_stack(stack: str) -> str:
    """The Web Function code-bucket stack `sam delete` looks for after deleting the stack
    (samcli WebFunctionCodeBucketStack.stack_name)."""
    return _sam_cli_stack(stack, 100, "-WebFunctionCode")


# --- what a handler permission hits --------------------------------------------------------------


def _ref(value: object) -> str | None:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        ref: str = value["Ref"]
        return ref
    return None


LAMBDA_TYPES = (
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Url",
)


def _function_of(stack: Stack, logical_id: str) -> str | None:
    """The logical id of the AWS::Lambda::Function a Lambda resource belongs to."""
    resource = stack.resources.get(logical_id or "", {})
    if resource.get("Type") == "AWS::Lambda::Function":
        return logical_id
    if resource.get("Type") in LAMBDA_TYPES:
        target = resource.get("Properties", {}).get("FunctionName")
        return _function_of(stack, _ref(target) or "")
    return None


def _lambda_target(stack: Stack, logical_id: str) -> str | None:
    """The function (or alias/version) ARN a Lambda resource acts on."""
    function_id = _function_of(stack, logical_id)
    if function_id is None:
        return None
    resource = stack.resources[logical_id]
    function = stack.arn("lambda", f"function:{stack.physical_name(function_id)}")
    rtype = resource["Type"]
    if rtype == "AWS::Lambda::Alias":
        return f"{function}:{stack.resolve(resource['Properties']['Name'])}"
    if rtype == "AWS::Lambda::Version":
        return f"{function}:1"
    if rtype in ("AWS::Lambda::Permission", "AWS::Lambda::Url"):
        key = "FunctionName" if rtype == "AWS::Lambda::Permission" else "TargetFunctionArn"
        target = stack.resources.get(_ref(resource["Properties"].get(key)) or "", {})
        if target.get("Type") == "AWS::Lambda::Alias":
            return f"{function}:{stack.resolve(target['Properties']['Name'])}"
    return function


CODEDEPLOY_APPLICATION = "ServerlessDeploymentApplication"  # SAM's logical id


def _codedeploy_target(stack: Stack, logical_id: str, name: str) -> str:
    """The CodeDeploy ARN a handler hits: the application, its deployment group or the
    deployment configuration."""
    resource = stack.resources[logical_id]
    application = f"{stack.name}-{CODEDEPLOY_APPLICATION}-{GENERATED}"
    if resource["Type"] == "AWS::CodeDeploy::Application":
        return stack.arn("codedeploy", f"application:{stack.physical_name(logical_id)}")
    if resource["Type"] == "AWS::Lambda::Alias":  # the alias update runs the deployment
        update = resource["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        group_id = _ref(update["DeploymentGroupName"])
        if group_id is None:
            raise KeyError(None)  # not a Ref: as looking it up among the resources would
        logical_id = group_id
        resource = stack.resources[logical_id]
    application_id = _ref(resource["Properties"].get("ApplicationName"))
    if application_id is not None and application_id in stack.resources:
        application = stack.physical_name(application_id)
    if name == "GetDeploymentConfig":
        config = stack.resolve(resource["Properties"]["DeploymentConfigName"])
        return stack.arn("codedeploy", f"deploymentconfig:{config}")
    if name in ("GetApplicationRevision", "RegisterApplicationRevision"):
        return stack.arn("codedeploy", f"application:{application}")
    group = f"{stack.name}-{logical_id}-{GENERATED}"
    return stack.arn("codedeploy", f"deploymentgroup:{application}/{group}")


def _apigateway_paths(stack: Stack, resource: Resource) -> tuple[str, str] | None:
    """(collection, item) paths of an API Gateway resource, or None for another type."""
    rtype, props = resource["Type"], resource.get("Properties", {})
    if rtype == "AWS::ApiGatewayV2::Api":
        return "/apis", f"/apis/{API_ID}"
    if rtype == "AWS::ApiGatewayV2::Stage":
        return (
            f"/apis/{API_ID}/stages",
            f"/apis/{API_ID}/stages/{stack.resolve(props['StageName'])}",
        )
    if rtype == "AWS::ApiGateway::RestApi":
        return "/restapis", f"/restapis/{API_ID}"
    if rtype == "AWS::ApiGateway::Deployment":
        base = f"/restapis/{API_ID}/deployments"
        return base, f"{base}/{DEPLOYMENT_ID}"
    if rtype == "AWS::ApiGateway::Stage":
        base = f"/restapis/{API_ID}/stages"
        return base, f"{base}/{stack.resolve(props['StageName'])}"
    if rtype in ("AWS::ApiGatewayV2::DomainName", "AWS::ApiGateway::DomainName"):
        return "/domainnames", f"/domainnames/{stack.resolve(props['DomainName'])}"
    if rtype in ("AWS::ApiGatewayV2::ApiMapping", "AWS::ApiGateway::BasePathMapping"):
        domain_id = _ref(props["DomainName"])
        domain = stack.resolve(
            stack.resources[domain_id]["Properties"]["DomainName"]
            if domain_id
            else props["DomainName"]
        )
        if rtype == "AWS::ApiGatewayV2::ApiMapping":
            base = f"/domainnames/{domain}/apimappings"
            return base, f"{base}/{MAPPING_ID}"
        base = f"/domainnames/{domain}/basepathmappings"
        return base, f"{base}/(none)"  # the base path API Gateway names an empty one by
    return None


KMS_KEY_PROPERTIES = ("KmsKeyArn", "KmsKeyId", "KmsMasterKeyId", "KMSMasterKeyId")


def _kms_key(stack: Stack, props: dict[str, Any]) -> str | None:
    """The key ARN a resource names (KmsKeyArn, SSESpecification.KMSMasterKeyId, ...)."""
    for node in (props, *(v for v in props.values() if isinstance(v, dict))):
        for key in KMS_KEY_PROPERTIES:
            if key in node:
                try:
                    value = stack.resolve(node[key])
                except UnresolvedError:
                    return None
                return value if value.startswith("arn:") else None
    return None


def _identifier(stack: Stack, logical_id: str) -> str:
    """A resource's name for an ARN format: its primary identifier property if template.yml
    sets it, else the name CloudFormation generates."""
    resource = stack.resources[logical_id]
    schema = provider_schema(stack.region, resource["Type"]) or {}
    props = resource.get("Properties", {})
    for pointer in schema.get("primaryIdentifier", []):
        prop = pointer.removeprefix("/properties/")
        if prop in props:
            try:
                return stack.resolve(props[prop])
            except UnresolvedError:
                return UNRESOLVED
    return f"{stack.name}-{logical_id}-{GENERATED}"


def _arn_format(action: str, rtype: str) -> tuple[str, str] | None:
    """(resource type, ARN format) IAM authorises `action` on, the one closest to `rtype`."""
    service = action.partition(":")[0]
    found = resource_types(action)
    if not found:
        return None
    wanted = rtype.rsplit("::", 1)[-1].lower()
    chosen = next(
        (t for t in found if t.replace("-", "").lower().startswith(wanted)), sorted(found)[0]
    )
    spec = iam_actions().get(service, {}).get("Resources", {}).get(chosen, {})
    formats = spec.get("ARNFormats") or []
    return (chosen, formats[0]) if formats else None


class CallFields(TypedDict):
    """The fields of a handler permission's Call besides the action, the ARN, the grant and
    the review."""

    source: str
    context: dict[str, Any]
    why: str
    logical_id: str
    handler: str


class CallOn(Protocol):
    """handler_call's `call`: the Call of its permission on `arn`, with condition keys."""

    def __call__(self, arn: str, grant: str = "", /, **keys: str | list[str]) -> Call: ...


def unmodelled_call(stack: Stack, action: str, reason: str, **base: Unpack[CallFields]) -> Call:
    """A call this tool has no ARN rule for: the ARN follows cfn-lint's copy of the Service
    Authorization Reference, flagged for review; `*` if the reference does not know the
    action. The format's `.*` is the resource's name where the action is its own service's,
    on its own kind of resource (a stream's `kinesis:CreateStream`), else `*` (a key, a role,
    another resource this one uses)."""
    logical_id = base["logical_id"]
    rtype = stack.resources[logical_id]["Type"]
    found = _arn_format(action, rtype)
    own_kind = found is not None and (
        action.partition(":")[0] == rtype.split("::")[1].lower()
        and found[0].replace("-", "").lower().startswith(rtype.rsplit("::", 1)[-1].lower())
    )
    if found is None:
        return Call(
            action,
            "*",
            review=f"{reason}; cfn-lint's IAM reference gives no ARN format for {action}",
            **base,
        )
    chosen, arn_format = found
    arn = arn_format.replace("${Partition}", PARTITION).replace("${Region}", stack.region)
    arn = arn.replace("${Account}", ACCOUNT)
    name = _identifier(stack, logical_id) if own_kind else UNRESOLVED
    arn = arn.replace(".*", name, 1).replace(".*", UNRESOLVED)
    arn = re.sub(r"\$\{[^}]+\}", UNRESOLVED, arn)
    review = f"{reason}; the ARN follows the IAM reference's {chosen} format: check it"
    return Call(action, arn, review=review, **base)


def handler_call(stack: Stack, logical_id: str, handler: str, permission: str) -> Call:
    """The request a handler makes for `permission`: the ARN it hits, the condition keys."""
    resource = stack.resources[logical_id]
    rtype = resource["Type"]
    props = resource.get("Properties", {})
    source = f"{rtype} {handler} handler ({logical_id})"
    service, _, name = permission.partition(":")
    action = f"{service}:{name}"
    why = (
        "CloudFormation's handlers call these with the deploy identity's credentials "
        f"(the {rtype} provider schema in cfn-lint)"
    )
    base: CallFields = {
        "source": source,
        "context": dict(VIA_CLOUDFORMATION),
        "why": why,
        "logical_id": logical_id,
        "handler": handler,
    }

    def call(arn: str, grant: str = "", /, **keys: str | list[str]) -> Call:
        fields: CallFields = {**base, "context": {**VIA_CLOUDFORMATION, **keys}}
        return Call(action, arn, **fields, grant=grant)

    try:
        found = _modelled_call(stack, logical_id, rtype, props, handler, service, name, call)
    except (UnresolvedError, KeyError, TypeError, ValueError) as error:
        reason = f"a value of {logical_id} is only known at deploy time ({_one_line(error)})"
        return unmodelled_call(stack, action, reason, **base)
    if found is None:
        if rtype in MODELLED_TYPES:
            reason = f"no ARN rule for {service} permissions of {rtype}"
        else:
            reason = f"no ARN model for {rtype}"
        return unmodelled_call(stack, action, reason, **base)
    return found


MODELLED_TYPES = frozenset(
    {
        *LAMBDA_TYPES,
        "AWS::Logs::LogGroup",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::SNS::Topic",
        "AWS::SNS::Subscription",
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::CodeDeploy::Application",
        "AWS::CodeDeploy::DeploymentGroup",
        "AWS::Route53::RecordSet",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Stage",
        "AWS::ApiGatewayV2::DomainName",
        "AWS::ApiGatewayV2::ApiMapping",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::DomainName",
        "AWS::ApiGateway::BasePathMapping",
    }
)


def _modelled_call(
    stack: Stack,
    logical_id: str,
    rtype: str,
    props: dict[str, Any],
    handler: str,
    service: str,
    name: str,
    call: CallOn,
) -> Call | None:
    """The ARN rules, by service and resource type; None where there is none."""
    action = f"{service}:{name}"
    if no_resource_level(action):
        return call("*")
    if service == "lambda" and rtype in LAMBDA_TYPES:
        target = _lambda_target(stack, logical_id)
        if target is None:
            return None
        grant = ""
        if rtype == "AWS::Lambda::Version":
            grant = grant_pattern(target.rsplit(":", 1)[0]) + ":*"
        if name in ("AddPermission", "RemovePermission"):
            principal = stack.resolve(props["Principal"])
            return call(target, grant, **{"lambda:Principal": principal})
        on_function = ("PublishVersion", "ListVersionsByFunction", "CreateAlias")
        if name in on_function and rtype != "AWS::Lambda::Function":
            # on the function itself, not on the version or alias being made
            return call(target.rsplit(":", 1)[0])
        return call(target, grant)
    if service == "iam" and name == "PassRole" and rtype == "AWS::Lambda::Function":
        role = stack.resolve(props["Role"])
        return call(role, **{"iam:PassedToService": "lambda.amazonaws.com"})
    if service == "iam" and name == "PassRole" and rtype == "AWS::CodeDeploy::DeploymentGroup":
        role = stack.resolve(props["ServiceRoleArn"])
        return call(role, **{"iam:PassedToService": "codedeploy.amazonaws.com"})
    if service == "codedeploy" and rtype in (
        "AWS::CodeDeploy::Application",
        "AWS::CodeDeploy::DeploymentGroup",
        "AWS::Lambda::Alias",
    ):
        return call(_codedeploy_target(stack, logical_id, name))
    if service == "cloudwatch" and rtype == "AWS::CloudWatch::Alarm":
        return call(stack.arn("cloudwatch", f"alarm:{stack.physical_name(logical_id)}"))
    if service == "cloudwatch" and rtype == "AWS::CloudWatch::Dashboard":
        dashboard = stack.physical_name(logical_id)
        return call(stack.arn("cloudwatch", f"dashboard/{dashboard}", region=False))
    if service == "sns" and rtype in ("AWS::SNS::Topic", "AWS::SNS::Subscription"):
        topic_id = logical_id if rtype == "AWS::SNS::Topic" else _ref(props["TopicArn"])
        if topic_id is not None and topic_id in stack.resources:
            arn = stack.arn("sns", stack.physical_name(topic_id))
        else:
            arn = stack.resolve(props["TopicArn"])
        if name == "Subscribe" and rtype == "AWS::SNS::Subscription":
            keys = {"sns:Protocol": stack.resolve(props["Protocol"])}
            keys["sns:Endpoint"] = stack.resolve(props["Endpoint"])
            return call(arn, **keys)
        return call(arn)
    if service == "sqs" and rtype == "AWS::SQS::Queue":
        return call(stack.arn("sqs", stack.physical_name(logical_id)))
    if service == "dynamodb" and rtype == "AWS::DynamoDB::Table":
        return call(stack.arn("dynamodb", f"table/{stack.physical_name(logical_id)}"))
    if service == "s3" and rtype == "AWS::S3::Bucket":
        bucket = stack.physical_name(logical_id)
        kinds = resource_types(action)
        if "bucket" in kinds or not kinds:
            return call(stack.arn("s3", bucket, region=False, account=False))
        if "object" in kinds:
            return call(stack.arn("s3", f"{bucket}/{OBJECT_KEY}", region=False, account=False))
        return None
    if service == "s3" and rtype == "AWS::Lambda::Function":
        return call(stack.object_arn(f"{stack.target.prefix}/{ARTIFACT_KEY}"))
    if service == "kms" and rtype in MODELLED_TYPES:
        key = _kms_key(stack, props)
        return call(key) if key else None
    if service == "logs" and rtype == "AWS::Logs::LogGroup":
        group = stack.physical_name(logical_id)
        return call(stack.arn("logs", f"log-group:{group}:*"))
    if service == "route53" and rtype == "AWS::Route53::RecordSet":
        if name == "GetChange":
            return call(stack.arn("route53", f"change/{CHANGE_ID}", region=False, account=False))
        zone_id = stack.resolve(props["HostedZoneId"])
        zone = stack.arn("route53", f"hostedzone/{zone_id}", False, False)
        if name == "ChangeResourceRecordSets":
            return call(
                zone,
                **{
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                        stack.resolve(props["Name"]).lower().rstrip(".")
                    ],
                    "route53:ChangeResourceRecordSetsRecordTypes": [stack.resolve(props["Type"])],
                    "route53:ChangeResourceRecordSetsActions": [RECORD_ACTIONS[handler]],
                },
            )
        return call(zone)
    if service == "apigateway":
        paths = _apigateway_paths(stack, stack.resources[logical_id])
        if paths is None:
            return None
        collection, item = paths
        item_arn = stack.arn("apigateway", item, account=False)
        if handler == "tagging" and name in ("GET", "PUT", "DELETE", "POST"):
            # API Gateway's TagResource/UntagResource/GetTags: /tags/{url-encoded ARN}
            tags = f"/tags/{quote(item_arn, safe='')}"
            return call(stack.arn("apigateway", tags, account=False))
        if name in ("POST", "TagResource") and handler == "create":
            # Creating is a POST on the collection; so is tag-on-create's check (the public
            # AccessDenied names ".../apis/ID/stages": aws-amplify/amplify-cli#12316).
            return call(stack.arn("apigateway", collection, account=False))
        return call(item_arn)
    return None


# --- sam deploy's and sam delete's own calls ---------------------------------------------------


class _Why(TypedDict):
    why: str


def sam_deploy_calls(stack: Stack) -> list[Call]:
    """aws-sam-cli 1.170 `sam deploy` with samconfig.toml (s3_bucket, s3_prefix, on_failure =
    DELETE): upload, change set, execute, wait, and the deletion of a stack whose creation
    failed (Deployer.rollback_delete_stack)."""
    arn = stack.stack_arn
    transform = f"arn:{PARTITION}:cloudformation:{stack.region}:aws:transform/Serverless-2016-10-31"
    artifact = stack.object_arn(f"{stack.target.prefix}/{ARTIFACT_KEY}")
    template = stack.object_arn(f"{stack.target.prefix}/{ARTIFACT_KEY}.template")
    cfn = "cloudformation"
    why: _Why = {"why": "sam deploy (aws-sam-cli 1.170) makes this call with the deploy identity"}
    return [
        # S3Uploader.file_exists (HeadObject is authorised as s3:GetObject), then upload
        Call("s3:GetObject", artifact, "sam deploy: is the artifact uploaded (HeadObject)", **why),
        Call("s3:PutObject", artifact, "sam deploy: upload the artifact", **why),
        Call("s3:GetObject", template, "sam deploy: is the template uploaded (HeadObject)", **why),
        Call("s3:PutObject", template, "sam deploy: upload the template", **why),
        Call(f"{cfn}:DescribeStacks", arn, "sam deploy: does the stack exist (has_stack)", **why),
        Call(
            f"{cfn}:GetTemplateSummary", arn, "sam deploy: parameters of the stack (update)", **why
        ),
        Call(f"{cfn}:CreateChangeSet", arn, "sam deploy: create the change set", **why),
        Call(
            f"{cfn}:CreateChangeSet",
            transform,
            "sam deploy: the change set uses the SAM transform",
            **why,
        ),
        Call(
            "s3:GetObject",
            template,
            "CloudFormation: reads TemplateURL with the caller's credentials",
            dict(VIA_CLOUDFORMATION),
            why="CloudFormation reads the uploaded template as the caller",
        ),
        Call(
            f"{cfn}:DescribeChangeSet", arn, "sam deploy: wait for the change set (waiter)", **why
        ),
        Call(f"{cfn}:ExecuteChangeSet", arn, "sam deploy: execute the change set", **why),
        Call(f"{cfn}:DescribeStackEvents", arn, "sam deploy: stream the stack events", **why),
        Call(
            f"{cfn}:DescribeStacks", arn, "sam deploy: wait for the stack, read its outputs", **why
        ),
        # on_failure = DELETE: a stack whose creation failed is deleted, not left behind
        Call(
            f"{cfn}:DeleteStack",
            arn,
            "sam deploy --on-failure DELETE: delete the failed stack",
            **why,
        ),
    ]


def sam_delete_calls(stack: Stack) -> list[Call]:
    """aws-sam-cli 1.170 `sam delete --no-prompts` with samconfig.toml (DeleteContext.run,
    samcli/commands/delete/delete_context.py): is the stack there, its original template,
    the ECR companion stack, each function's artifact, every object under the prefix (the
    uploaded template too), the stack's deletion and its waiter, then the Web Function
    code-bucket stack (delete_web_function_code_bucket, which re-raises any error but "does
    not exist"). The template's tests run that code and compare its calls with these."""
    arn = stack.stack_arn

    def stack_arn(name: str) -> str:
        return stack.arn("cloudformation", f"stack/{name}/{STACK_ID}")

    artifact = stack.object_arn(f"{stack.target.prefix}/{ARTIFACT_KEY}")
    template = stack.object_arn(f"{stack.target.prefix}/{ARTIFACT_KEY}.template")
    bucket = stack.arn("s3", stack.target.bucket, region=False, account=False)
    cfn = "cloudformation"
    why: _Why = {"why": "sam delete (aws-sam-cli 1.170) makes this call with the deploy identity"}
    return [
        Call(f"{cfn}:DescribeStacks", arn, "sam delete: does the stack exist", **why),
        Call(f"{cfn}:GetTemplate", arn, "sam delete: the stack's original template", **why),
        Call(
            f"{cfn}:DescribeStacks",
            stack_arn(companion_stack(stack.name)),
            "sam delete: is there an ECR companion stack",
            **why,
        ),
        Call("s3:GetObject", artifact, "sam delete: does the artifact exist (HeadObject)", **why),
        Call("s3:DeleteObject", artifact, "sam delete: delete the artifact", **why),
        Call(
            "s3:ListBucket",
            bucket,
            "sam delete: list the artifacts under the prefix",
            {"s3:prefix": f"{stack.target.prefix}/"},
            **why,
        ),
        Call("s3:GetObject", template, "sam delete: does the template exist (HeadObject)", **why),
        Call("s3:DeleteObject", template, "sam delete: delete the uploaded template", **why),
        Call(f"{cfn}:DeleteStack", arn, "sam delete: delete the stack", **why),
        Call(f"{cfn}:DescribeStacks", arn, "sam delete: wait for the deletion (waiter)", **why),
        Call(
            f"{cfn}:DescribeStacks",
            stack_arn(code_bucket_stack(stack.name)),
            "sam delete: is there a Web Function code-bucket stack",
            **why,
        ),
    ]


# API Gateway developer guide, "Configuring logging for an HTTP API", "Permissions to activate
# logging": creating or updating an HTTP API stage with access logging sets up CloudWatch Logs'
# log delivery with the caller's credentials. AWS::ApiGatewayV2::Stage's provider schema does
# not list these permissions. (A REST API stage writes through the account's API Gateway
# CloudWatch role instead: nothing from the caller.)
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


def access_logging_calls(stack: Stack) -> list[Call]:
    """The log delivery calls of each HTTP API stage that has access logging, on its
    destination log group (or `*` for actions without resource-level permissions)."""
    calls: list[Call] = []
    for logical_id, resource in sorted(stack.resources.items()):
        if resource["Type"] != "AWS::ApiGatewayV2::Stage" or not stack.exists(logical_id):
            continue
        settings = resource.get("Properties", {}).get("AccessLogSettings")
        if not settings:
            continue
        destination = settings["DestinationArn"]
        group_id = (
            destination.get("Fn::GetAtt", [None])[0] if isinstance(destination, dict) else None
        )
        if group_id is not None and group_id in stack.resources:
            group = stack.arn("logs", f"log-group:{stack.physical_name(group_id)}:*")
        else:
            try:
                group = stack.resolve(destination)
            except UnresolvedError:
                group = stack.arn("logs", f"log-group:{UNRESOLVED}:*")
        source = f"API Gateway for AWS::ApiGatewayV2::Stage access logging ({logical_id})"
        context = {
            "aws:CalledVia": ["cloudformation.amazonaws.com", "apigateway.amazonaws.com"],
            "aws:ViaAWSService": "true",
        }
        why = "API Gateway sets up the stage's log delivery with the caller's credentials"
        for action in HTTP_API_ACCESS_LOGGING:
            arn = "*" if no_resource_level(action) else group
            calls.append(Call(action, arn, source, context, why=why, logical_id=logical_id))
    return calls


# --- the whole deploy ----------------------------------------------------------------------------


def stack_of(project: Path, environment: str = "") -> Stack:
    found = target(project, environment)
    return Stack(found, transformed_template(project, found.region))


def deploy_calls(
    project: Path, environment: str = ""
) -> tuple[list[Call], list[tuple[str, Exclusion]]]:
    """Every call of a first deploy, an update and a deletion of the stack of `environment`
    ("" for samconfig's default), and the handler permissions left out by an exclusion (as
    (where, exclusion))."""
    stack = stack_of(project, environment)
    calls = sam_deploy_calls(stack) + sam_delete_calls(stack) + access_logging_calls(stack)
    excluded_: list[tuple[str, Exclusion]] = []
    for logical_id, resource in sorted(stack.resources.items()):
        if not stack.exists(logical_id):
            continue
        for handler, permissions in handler_permissions(stack.region, resource["Type"]).items():
            for permission in permissions:
                exclusion = excluded(resource, handler, permission)
                if exclusion:
                    excluded_.append((f"{resource['Type']} {handler} ({logical_id})", exclusion))
                else:
                    calls.append(handler_call(stack, logical_id, handler, permission))
    return calls, excluded_


def unlisted_types(project: Path, environment: str = "") -> list[str]:
    """Resource types of the stack whose permissions no provider schema lists (custom
    resources, a type cfn-lint does not know in the region): check them by hand."""
    stack = stack_of(project, environment)
    return sorted(
        {
            f"{resource['Type']} ({logical_id})"
            for logical_id, resource in stack.resources.items()
            if provider_schema(stack.region, resource["Type"]) is None
        }
    )


# --- a small IAM policy evaluator ----------------------------------------------------------------


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


@functools.cache
def _compiled(pattern: str, case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case else re.IGNORECASE | re.DOTALL)


def _glob(pattern: str, value: str, case: bool = True) -> bool:
    """IAM's wildcard match: `*` any run of characters, `?` any one; nothing else special."""
    return _compiled(pattern, case).fullmatch(value) is not None


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda v, w: v == w,
    "StringEqualsIgnoreCase": lambda v, w: v.lower() == w.lower(),
    "StringLike": lambda v, w: _glob(w, v),
    "ArnEquals": lambda v, w: v == w,
    "ArnLike": lambda v, w: _glob(w, v),
    "Bool": lambda v, w: v.lower() == w.lower(),
}


def _condition_holds(operator: str, key: str, expected: object, context: dict[str, Any]) -> bool:
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


def _statement_matches(statement: Statement, call: Call) -> bool:
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


def is_allowed(policy: Policy, call: Call) -> bool:
    """An identity policy's decision: an explicit Deny wins, then any Allow; else denied."""
    matching = [s for s in _as_list(policy["Statement"]) if _statement_matches(s, call)]
    if any(s["Effect"] == "Deny" for s in matching):
        return False
    return any(s["Effect"] == "Allow" for s in matching)


def missing(policy: Policy, calls: list[Call]) -> list[Call]:
    """The calls `policy` does not allow, one per distinct request, in a stable order."""
    seen: set[Call]
    found: list[Call]
    seen, found = set(), []
    for call in calls:
        if call not in seen and not is_allowed(policy, call):
            seen.add(call)
            found.append(call)
    return sorted(found, key=Call.describe)


def unmet(policy: Policy, calls: list[Call]) -> list[str]:
    """The calls `policy` does not allow, described: who makes it, the action, the ARN it
    would hit and the condition keys. Empty when the policy is enough."""
    return sorted({call.describe() for call in calls if not is_allowed(policy, call)})


def unmet_permissions(
    project: Path, policy: Policy | None = None, environment: str = ""
) -> list[str]:
    """unmet() for the project's deploy of `environment` (default: its policy file)."""
    if policy is None:
        policy = read_policy(project, policy_path(project, environment))
    calls, _ = deploy_calls(project, environment)
    return unmet(policy, calls)


def unused(policy: Policy, calls: list[Call]) -> list[str]:
    """The (statement, action) pairs of `policy` that none of `calls` needs."""
    found: list[str] = []
    for statement in _as_list(policy["Statement"]):
        for action in _as_list(statement.get("Action", [])):
            narrowed = {**statement, "Action": action}
            if not any(_statement_matches(narrowed, call) for call in calls):
                found.append(f"{statement.get('Sid', '?')}: {action}")
    return found


# --- the bootstrap's copy ------------------------------------------------------------------------


def _to_bootstrap_arn(arn: str) -> str | dict[str, str]:
    if not arn.startswith(f"arn:{PARTITION}:"):
        return arn
    parts = arn.split(":", 5)
    parts[1] = "${AWS::Partition}"
    if len(parts) == 6 and parts[4] == "*":
        parts[4] = "${AWS::AccountId}"
    parts[-1] = parts[-1].replace(f"%3A{PARTITION}%3A", "%3A${AWS::Partition}%3A")
    return {"Fn::Sub": ":".join(parts)}


def to_bootstrap(policy: Policy) -> Policy:
    """The policy as the bootstrap writes it: each ARN an Fn::Sub with the partition and the
    account (where the file says `*`) filled in by CloudFormation."""
    document = copy.deepcopy(policy)
    for statement in _as_list(document.get("Statement", [])):
        for key in ("Resource", "NotResource"):
            if key in statement:
                value = statement[key]
                converted = [_to_bootstrap_arn(v) for v in _as_list(value)]
                statement[key] = converted if isinstance(value, list) else converted[0]
    return document


def from_bootstrap(document: Any, where: str) -> Any:
    """The bootstrap's DeployPolicy as the policy file writes it, or InputError. JSON-ish in,
    JSON-ish out: a mapping stays a mapping unless it is an Fn::Sub (its text)."""
    if isinstance(document, dict):
        if set(document) == {"Fn::Sub"} and isinstance(document["Fn::Sub"], str):
            text = document["Fn::Sub"]
            text = text.replace("${AWS::Partition}", PARTITION).replace("${AWS::AccountId}", "*")
            if "${" in text:
                raise InputError(f"{where}: {text}: a variable the policy file cannot hold")
            return text
        if any(key.startswith("Fn::") or key == "Ref" for key in document):
            raise InputError(
                f"{where}: {json.dumps(document)}: an intrinsic function apply cannot copy"
            )
        return {key: from_bootstrap(value, where) for key, value in document.items()}
    if isinstance(document, list):
        return [from_bootstrap(value, where) for value in document]
    return document


def _bootstrap_path(project: Path) -> Path:
    return Path(project) / "infra" / "bootstrap.yml"


def bootstrap_policy(project: Path, environment: str = "") -> Policy:
    """The bootstrap's DeployPolicy of `environment`, in the policy file's form."""
    resources = load_cloudformation(project, _bootstrap_path(project))["Resources"]
    name = bootstrap_resource(environment)
    where = f"infra/bootstrap.yml: {name}"
    document = resources.get(name, {}).get("Properties", {}).get("PolicyDocument")
    if not isinstance(document, dict):
        raise InputError(f"{where}: no such AWS::IAM::ManagedPolicy with a PolicyDocument")
    policy: Policy = from_bootstrap(document, where)
    return policy


def _first_difference(a: Policy, b: Policy) -> str:
    left, right = _as_list(a.get("Statement", [])), _as_list(b.get("Statement", []))
    for index, (one, other) in enumerate(zip(left, right, strict=False)):
        if one != other:
            return f"statement {index + 1} ({one.get('Sid') or other.get('Sid') or 'no Sid'})"
    if len(left) != len(right):
        return f"{len(left)} statements, not {len(right)}"
    return "Version or another top-level key"


def policies(project: Path) -> dict[str, Policy]:
    """{environment: policy} of every environment, after checking that each policy file and
    the bootstrap's DeployPolicy are the same document (InputError otherwise)."""
    found: dict[str, Policy] = {}
    for environment in environments(project):
        path = policy_path(project, environment)
        policy = read_policy(project, path)
        copy_ = bootstrap_policy(project, environment)
        if copy_ != policy:
            raise InputError(
                f"infra/bootstrap.yml: {bootstrap_resource(environment)} differs from "
                f"{_relative(project, path)} at {_first_difference(copy_, policy)}: make them "
                "the same document"
            )
        found[environment] = policy
    return found


# --- suggest and apply ---------------------------------------------------------------------------


def _condition_operators(policy: Policy) -> dict[str, str]:
    """The operator the policy uses for each condition key (StringEquals, StringLike, ...)."""
    operators: dict[str, str] = {}
    for statement in _as_list(policy["Statement"]):
        for operator, keys in statement.get("Condition", {}).items():
            for key in keys:
                operators.setdefault(key, operator)
    return operators


def _conditions(call: Call, operators: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The conditions of a grant for `call`: its service's own keys (not the global `aws:`
    ones), with the operator the policy already uses for each."""
    conditions: dict[str, dict[str, Any]] = {}
    for key, value in sorted(call.context.items()):
        if key.startswith("aws:"):
            continue
        default = "ForAllValues:StringEquals" if isinstance(value, list) else "StringEquals"
        conditions.setdefault(operators.get(key, default), {})[key] = value
    return conditions


def _sid(calls: list[Call], resources: list[str], taken: set[str]) -> str:
    ids = sorted({c.logical_id for c in calls if c.logical_id})
    names: list[str] = []
    types = {c.logical_id: c.source.split(" ")[0] for c in calls}
    for logical_id in ids[:3]:
        suffix = types[logical_id].rsplit("::", 1)[-1]
        names.append(logical_id if logical_id.endswith(suffix) else logical_id + suffix)
    sid = ("Manage" + "".join(names)) if names else "Deploy"
    sid = re.sub(r"[^A-Za-z0-9]", "", sid)
    if any(c.review for c in calls):
        sid = "Review" + sid
    if resources == ["*"]:
        sid += "WhichHasNoResourceLevelPermissions"
    candidate, number = sid, 2
    while candidate in taken:
        candidate, number = f"{sid}{number}", number + 1
    taken.add(candidate)
    return candidate


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def _services(actions: str | Iterable[str]) -> set[str]:
    actions = [actions] if isinstance(actions, str) else actions
    return {action.partition(":")[0].lower() for action in actions}


def _same_scope(
    statement: Statement,
    resources: list[str],
    conditions: dict[str, Any],
    actions: str | Iterable[str],
) -> bool:
    """Whether `statement` grants its service's actions on exactly these ARNs and conditions
    (where apply adds the new actions of that service)."""
    return (
        statement.get("Effect") == "Allow"
        and "Action" in statement
        and "Resource" in statement
        and sorted(_as_list(statement["Resource"])) == resources
        and statement.get("Condition", {}) == conditions
        and _services(statement["Action"]) == _services(actions)
    )


def suggestion(policy: Policy, calls: list[Call]) -> list[Statement]:
    """The statements that grant every call `policy` does not allow: one per scope (the
    ARNs and conditions), with a Sid; a statement whose scope an existing statement has
    carries that statement's Sid, and apply adds its actions there."""
    operators = _condition_operators(policy)
    scopes: dict[tuple[str, str], list[Call]] = {}
    for call in missing(policy, calls):
        conditions = json.dumps(_conditions(call, operators), sort_keys=True)
        scopes.setdefault((call.grant_arn, conditions), []).append(call)
    # One statement per (actions, conditions), with every ARN they need.
    grouped: dict[tuple[tuple[str, ...], str], list[tuple[str, list[Call]]]] = {}
    for (arn, conditions), found in scopes.items():
        actions = tuple(sorted({c.action for c in found}))
        grouped.setdefault((actions, conditions), []).append((arn, found))
    taken = {s.get("Sid", "") for s in _as_list(policy["Statement"])}
    statements: list[Statement] = []
    for (actions, conditions_text), entries in grouped.items():
        arns = sorted({arn for arn, _ in entries})
        # an ARN that another of the statement's ARNs already matches is left out
        arns = [a for a in arns if not any(b != a and _glob(b, a) for b in arns)]
        found = [c for _, group in entries for c in group]
        conditions = json.loads(conditions_text)
        existing = [
            s for s in _as_list(policy["Statement"]) if _same_scope(s, arns, conditions, actions)
        ]
        sid = existing[0]["Sid"] if existing and existing[0].get("Sid") else None
        statement: Statement = {
            "Sid": sid or _sid(found, arns, taken),
            "Effect": "Allow",
            "Action": _one_or_list(list(actions)),
            "Resource": _one_or_list(arns),
        }
        if conditions:
            statement["Condition"] = conditions
        statements.append(statement)
    return sorted(statements, key=lambda s: s["Sid"])


def reviews(policy: Policy, calls: list[Call]) -> list[str]:
    """What the reader of a suggestion must check: the ARNs this tool had to guess."""
    return sorted(
        {f"{c.source}: {c.action}: {c.review}" for c in missing(policy, calls) if c.review}
    )


def merged(policy: Policy, statements: list[Statement]) -> Policy:
    """The policy with `statements` added: into the statement of the same Sid and scope
    (actions kept sorted), or appended."""
    result = copy.deepcopy(policy)
    result["Statement"] = _as_list(result["Statement"])
    for statement in statements:
        resources = sorted(_as_list(statement["Resource"]))
        conditions = statement.get("Condition", {})
        same = [
            s
            for s in result["Statement"]
            if s.get("Sid") == statement["Sid"]
            and _same_scope(s, resources, conditions, statement["Action"])
        ]
        if same:
            actions = sorted({*_as_list(same[0]["Action"]), *_as_list(statement["Action"])})
            same[0]["Action"] = _one_or_list(actions)
        else:
            result["Statement"].append(copy.deepcopy(statement))
    return result


def format_policy(document: object, indent: int = 0) -> str:
    """JSON the way iam/deploy-policy.json is written: two-space indents, one action or ARN
    a line, an Fn::Sub and the values of a condition on one line."""
    pad = " " * indent
    if isinstance(document, dict) and set(document) == {"Fn::Sub"}:
        return json.dumps(document, ensure_ascii=False)
    if isinstance(document, dict):
        items = []
        for key, value in document.items():
            if key == "Condition":
                text = _format_condition(value, indent + 2)
            else:
                text = format_policy(value, indent + 2)
            items.append(f"{pad}  {json.dumps(key)}: {text}")
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(document, list):
        items = [f"{pad}  {format_policy(value, indent + 2)}" for value in document]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(document, ensure_ascii=False)


def _format_condition(condition: dict[str, dict[str, Any]], indent: int) -> str:
    pad = " " * indent
    operators = []
    for operator, keys in condition.items():
        inner = [
            f"{pad}    {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
            for key, value in keys.items()
        ]
        body = ",\n".join(inner)
        operators.append(f"{pad}  {json.dumps(operator)}: " + "{\n" + body + "\n" + pad + "  }")
    return "{\n" + ",\n".join(operators) + "\n" + pad + "}"


def _policy_document_span(text: str, name: str) -> tuple[int, int, int]:
    """Where a DeployPolicy's PolicyDocument is in bootstrap.yml's text: (start, end, the
    column of its key)."""
    where = f"infra/bootstrap.yml: {name}"
    root = yaml.compose(text, Loader=yaml.SafeLoader)  # composing ignores the tags

    def child(node: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node]:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    return k, v
        raise InputError(f"{where}: no {key}")

    node = root
    for key in ("Resources", name, "Properties", "PolicyDocument"):
        key_node, node = child(node, key)
    if not (isinstance(node, yaml.MappingNode) and node.flow_style):
        raise InputError(f"{where}: its PolicyDocument is not written as JSON, which apply needs")
    return node.start_mark.index, node.end_mark.index, key_node.start_mark.column


def apply(project: Path) -> dict[str, list[Statement]]:
    """Add the suggested statements to every policy file and to the bootstrap's DeployPolicy
    (the same document each). Returns what was added, per policy file. Every input is read
    and checked, and the result too, before anything is written."""
    project = Path(project)
    current = policies(project)
    bootstrap = _bootstrap_path(project)
    text = _read(project, bootstrap)
    added: dict[str, list[Statement]] = {}
    files: dict[Path, str] = {}
    blocks: list[tuple[int, int, str]] = []
    expected: dict[str, Policy] = {}
    for environment, policy in current.items():
        path = policy_path(project, environment)
        calls, _ = deploy_calls(project, environment)
        statements = suggestion(policy, calls)
        if not statements:
            continue
        new = merged(policy, statements)
        left = missing(new, calls)
        if left:
            raise InputError(
                f"{_relative(project, path)}: a Deny or NotAction statement refuses "
                f"{left[0].describe()}: apply cannot grant it"
            )
        added[_relative(project, path)] = statements
        original = _read(project, path)
        files[path] = format_policy(new) + (original[len(original.rstrip()) :] or "\n")
        name = bootstrap_resource(environment)
        start, end, column = _policy_document_span(text, name)
        block = format_policy(to_bootstrap(new)).replace("\n", "\n" + " " * (column + 2))
        blocks.append((start, end, block))
        expected[name] = new
    for start, end, block in sorted(blocks, reverse=True):
        text = text[:start] + block + text[end:]
    written = yaml.load(text, Loader=TaggedLoader)  # noqa: S506 (a SafeLoader subclass)
    for name, new in expected.items():
        document = written["Resources"][name]["Properties"]["PolicyDocument"]
        if from_bootstrap(document, f"infra/bootstrap.yml: {name}") != new:
            raise InputError(f"infra/bootstrap.yml: {name}: apply would not write it faithfully")
    for path, content in files.items():
        path.write_text(content, encoding="utf-8")
    if blocks:
        bootstrap.write_text(text, encoding="utf-8")
    return added


# --- the command line ----------------------------------------------------------------------------


def report(found: list[Call]) -> list[str]:
    """The missing calls for a reader: grouped by who makes them (the resource, or sam) with
    why, then by what cannot be scoped; each line an action (and the handlers asking for
    it) on an ARN."""
    groups: dict[tuple[str, str], dict[str, dict[str, list[str]]]] = {}
    for call in found:
        if call.handler:
            head = f"{call.logical_id} ({call.source.split(' ')[0]})"
            line = f"{call.action} on {call.resource}{call.conditions}"
        else:
            head, _, what = call.source.partition(": ")
            line = f"{call.action} on {call.resource}{call.conditions} ({what})"
        lines = groups.setdefault((head, call.why), {}).setdefault(call.review, {})
        handlers = lines.setdefault(line, [])
        if call.handler and call.handler not in handlers:
            handlers.append(call.handler)
    text: list[str] = []
    for (head, why), reviews in groups.items():
        text.append(f"  {head}: {why}" if why else f"  {head}:")
        for review, lines in sorted(reviews.items()):
            if review:
                text.append(f"    cannot scope these: {review}")
            for line, handlers in lines.items():
                action, _, rest = line.partition(" on ")
                by = f" ({', '.join(handlers)})" if handlers else ""
                text.append(f"    {action}{by} on {rest}")
    return text


def check(project: Path, out: TextIO = sys.stdout) -> int:
    """Print what every policy lacks; 0 when nothing, else 1."""
    current = policies(project)
    status = 0
    for environment, policy in current.items():
        calls, _ = deploy_calls(project, environment)
        found = missing(policy, calls)
        path = _relative(project, policy_path(project, environment))
        where = f"{path} and {bootstrap_resource(environment)} of infra/bootstrap.yml"
        for unlisted in unlisted_types(project, environment):
            print(
                f"{where}: no provider schema lists the permissions of {unlisted}: "
                "check them by hand",
                file=out,
            )
        if not found:
            print(f"{where}: enough for {len(set(calls))} calls of the deploy", file=out)
            continue
        status = 1
        count = len({(c.action, c.resource, c.conditions) for c in found})
        print(f"{where}: {count} permissions missing:", file=out)
        for line in report(found):
            print(line, file=out)
    if status:
        print(
            "Review `python scripts/deploy_policy.py suggest`, then `... apply`, redeploy the "
            'bootstrap stack, then deploy (docs/deployment.md, "When you add a resource").',
            file=out,
        )
    return status


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    parser = argparse.ArgumentParser(
        prog="python scripts/deploy_policy.py",
        description="Is the deploy policy enough for template.yml? (docs/deployment.md)",
    )
    parser.add_argument("command", choices=["check", "suggest", "apply"])
    parser.add_argument("--project", type=Path, default=PROJECT, help="the service's root")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    try:
        if args.command == "check":
            return check(project, out)
        if args.command == "suggest":
            found: dict[str, list[Statement]] = {}
            notes: list[str] = []
            for environment, policy in policies(project).items():
                calls, _ = deploy_calls(project, environment)
                statements = suggestion(policy, calls)
                if statements:
                    found[_relative(project, policy_path(project, environment))] = statements
                    notes += reviews(policy, calls)
            print(json.dumps(found, indent=2), file=out)
            for note in dict.fromkeys(notes):
                print(f"review: {note}", file=err)
            return 0
        added = apply(project)
        for path, statements in added.items():
            sids = ", ".join(s["Sid"] for s in statements)
            print(f"{path} and infra/bootstrap.yml: added {sids}", file=out)
        if not added:
            print("nothing to add: the policy is enough", file=out)
        return 0
    except InputError as error:
        print(f"error: {error}", file=err)
        return 2


if __name__ == "__main__":
    sys.exit(main())
