"""Starts ministack (run by the emulator's own Python, not by pytest) with no-op
CloudFormation handlers for the CodeDeploy types it lacks: docs/contributing.md,
"Deploying to the emulator"."""

import sys

from ministack.app import main
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

sys.argv = ["ministack"]
main()
