"""Starts ministack (run by the emulator's own Python, not by pytest) with no-op
CloudFormation handlers for the CodeDeploy types it lacks, and a DynamoDB table handler
that also applies the table properties it ignores: docs/contributing.md, "Deploying to the
emulator"."""

import sys

from ministack.app import main
from ministack.services import dynamodb
from ministack.services.cloudformation.provisioners import _RESOURCE_HANDLERS

CODEDEPLOY_TYPES = ("AWS::CodeDeploy::Application", "AWS::CodeDeploy::DeploymentGroup")


def _create(logical_id, props, stack_name):
    return f"{stack_name}-{logical_id}-noop", {}


def _update(physical_id, old_props, new_props, stack_name):
    return physical_id, {}


def _delete(physical_id, props):
    return None


for resource_type in CODEDEPLOY_TYPES:
    # A newer ministack that handles them itself keeps its own handlers.
    _RESOURCE_HANDLERS.setdefault(
        resource_type, {"create": _create, "update": _update, "delete": _delete}
    )


# What ministack's AWS::DynamoDB::Table handler leaves out (1.5.33): the point-in-time
# recovery and the encryption a template asks for.
TABLE = _RESOURCE_HANDLERS["AWS::DynamoDB::Table"]
CREATE_TABLE, UPDATE_TABLE = TABLE["create"], TABLE["update"]


def _call(operation, request: dict) -> None:
    status, _, body = operation(request)
    if status >= 400:
        raise ValueError(f"{operation.__name__}: {body!r}")


def _table_settings(name: str, props: dict) -> None:
    """Apply the table's PointInTimeRecoverySpecification and SSESpecification through the
    emulator's own DynamoDB operations, as CloudFormation does on AWS (its SSEEnabled is the
    API's Enabled)."""
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr is not None:
        request = {"TableName": name, "PointInTimeRecoverySpecification": pitr}
        _call(dynamodb._update_continuous_backups, request)
    sse = props.get("SSESpecification")
    if sse is not None:
        spec = {"Enabled" if key == "SSEEnabled" else key: value for key, value in sse.items()}
        _call(dynamodb._update_table, {"TableName": name, "SSESpecification": spec})


def _create_table(logical_id, props, stack_name):
    name, attributes = CREATE_TABLE(logical_id, props, stack_name)
    _table_settings(name, props)
    return name, attributes


def _update_table(physical_id, old_props, new_props, stack_name, logical_id=None):
    name, attributes = UPDATE_TABLE(physical_id, old_props, new_props, stack_name, logical_id)
    _table_settings(name, new_props)
    return name, attributes


TABLE.update(create=_create_table, update=_update_table)

sys.argv = ["ministack"]
main()
