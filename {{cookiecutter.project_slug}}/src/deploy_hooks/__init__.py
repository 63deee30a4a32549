"""Functions CodeDeploy runs during a deployment (template.yml, docs/operations.md)."""
