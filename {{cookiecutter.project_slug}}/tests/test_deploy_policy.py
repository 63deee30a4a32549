"""The deploy policy still covers template.yml: every permission a deploy of this service
needs is granted by iam/deploy-policy*.json and by the DeployPolicy of infra/bootstrap.yml
(`python scripts/deploy_policy.py check`). When a change to template.yml needs more, this
fails with the list: review `python scripts/deploy_policy.py suggest`, run `... apply`, and
redeploy the bootstrap stack before the service (docs/deployment.md, "When you add a
resource")."""

import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def deploy_policy_tool() -> ModuleType:
    """scripts/deploy_policy.py as a module (scripts/ is not a package)."""
    path = ROOT / "scripts" / "deploy_policy.py"
    spec = importlib.util.spec_from_file_location("deploy_policy", path)
    assert spec is not None, path
    assert spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_deploy_policy_covers_the_template() -> None:
    out = io.StringIO()
    status = deploy_policy_tool().main(["check", "--project", str(ROOT)], out=out, err=out)
    assert status == 0, out.getvalue()
