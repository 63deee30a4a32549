"""Post-generation hook: remove the files of options not chosen, then check what was
rendered. Runs inside the new project directory.

The checks need nothing beyond what cookiecutter itself installs (PyYAML, and the
standard library), so that a render does the same on every machine: every YAML, JSON and
TOML file parses; the SAM template has the SAM transform, and its function's Handler
resolves to an attribute defined in a module under its CodeUri (read with `ast`, never
imported); Runtime and Architectures match the answers; the deployment policy names the
bucket and the role; no Jinja is left. The heavyweight validators (cfn-lint, `sam validate
--lint`, parliament, the SchemaStore schemas, zizmor) run in the template's tests and in
the rendered project's pre-commit and pipeline (docs/hooks.md). Any problem: one message
naming each file and problem, exit 1, and cookiecutter removes the project directory.
Which files belong to the options chosen, and which names each deploy policy must carry,
come from the model of the answers (local_extensions.py), rendered here as JSON data.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
MODEL_JSON = r"""{{ cookiecutter | model | tojson }}"""
# The answers as the templates write them (local_extensions.py's escaping filters), so that
# Jinja-like braces typed at the prompt are known for data, not taken for leftovers.
ANSWER_FORMS_JSON = r"""{{ cookiecutter | answer_forms | tojson }}"""

JINJA_LEFTOVER = re.compile(r"(?<!\$)\{\{|\{\%|\{\{\s*cookiecutter\b")

SAM_TEMPLATE = "template.yml"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
FUNCTION_ID = "ApiFunction"


def remove(project: Path, *relative: str) -> None:
    """Remove files or directories of the project, if present."""
    for rel in relative:
        path = project / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def remove_other_pipelines(project: Path, answers: dict, facts: dict) -> None:
    """Only the chosen CI provider's files stay."""
    for name, path in [
        ("github", ".github"),
        ("gitlab", ".gitlab-ci.yml"),
        ("travis", ".travis.yml"),
    ]:
        if not facts["ci"][name]:
            remove(project, path)


def remove_pre_traffic_hook(project: Path, answers: dict, facts: dict) -> None:
    if not facts["canary"]:
        remove(project, "src/deploy_hooks", "tests/test_pre_traffic.py")


def remove_deploy_policies(project: Path, answers: dict, facts: dict) -> None:
    """One deploy policy per environment: the model's policy files stay, the others go."""
    wanted = {env["policy_file"] for env in facts["environments"]}
    for path in sorted((project / "iam").glob("deploy-policy*.json")):
        if path.relative_to(project).as_posix() not in wanted:
            path.unlink()


def remove_jwt_auth(project: Path, answers: dict, facts: dict) -> None:
    if not facts["jwt"]:
        package = Path("src") / answers["package_name"]
        remove(
            project,
            str(package / "core" / "auth.py"),
            str(package / "api" / "v1" / "endpoints" / "me.py"),
            "tests/test_auth.py",
        )


def remove_snapstart_hook(project: Path, answers: dict, facts: dict) -> None:
    if not facts["snapstart"]:
        package = Path("src") / answers["package_name"]
        remove(project, str(package / "core" / "snapstart.py"), "tests/test_snapstart.py")


def remove_cors_tests(project: Path, answers: dict, facts: dict) -> None:
    if not facts["origins"]:
        remove(project, "tests/test_cors.py")


def remove_datastore(project: Path, answers: dict, facts: dict) -> None:
    """Without datastore=dynamodb: no items resource, repository or their docs."""
    if not facts["datastore"]["dynamodb"]:
        package = Path("src") / answers["package_name"]
        remove(
            project,
            str(package / "api" / "v1" / "endpoints" / "items.py"),
            str(package / "models" / "items.py"),
            str(package / "repositories"),
            "tests/test_items.py",
            "docs/datastore.md",
        )


def remove_secrets(project: Path, answers: dict, facts: dict) -> None:
    """Without a secret store: no secrets module, its tests or docs."""
    if not facts["secrets"]["on"]:
        package = Path("src") / answers["package_name"]
        secrets = str(package / "core" / "secrets.py")
        remove(project, secrets, "tests/test_secrets.py", "docs/secrets.md")


def remove_aws_fixtures(project: Path, answers: dict, facts: dict) -> None:
    """Without the AWS SDK's calls, no in-process AWS for the tests."""
    if not facts["aws_sdk"]:
        remove(project, "tests/aws.py")


REMOVALS = [
    remove_other_pipelines,
    remove_pre_traffic_hook,
    remove_deploy_policies,
    remove_jwt_auth,
    remove_cors_tests,
    remove_snapstart_hook,
    remove_datastore,
    remove_secrets,
    remove_aws_fixtures,
]


# --- YAML with CloudFormation (and GitLab) short-form tags ---------------------------------


class TaggedLoader(yaml.SafeLoader):
    """A safe loader that accepts any local tag (`!Ref`, `!Sub`, `!GetAtt`, `!If`, GitLab's
    `!reference`, ...): `!Name value` becomes `{"Fn::Name": value}` (`{"Ref": value}` for
    `!Ref`, the full form of the CloudFormation intrinsic functions)."""


def _construct_tag(loader: TaggedLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: object = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    key = "Ref" if suffix == "Ref" else ("Condition" if suffix == "Condition" else "Fn::" + suffix)
    return {key: value}


TaggedLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(text: str) -> object:
    return yaml.load(text, Loader=TaggedLoader)  # a SafeLoader subclass


# --- checks: each returns a list of "file: problem" strings ---------------------------------


def project_files(project: Path) -> list[Path]:
    return sorted(
        p for p in project.rglob("*") if p.is_file() and not {".git", ".venv"} & set(p.parts)
    )


def find_jinja_leftovers(project: Path, data: Sequence[str] = ()) -> list[str]:
    """Files (file:line) that still hold Jinja markup after rendering. The strings of `data`
    (the answers as typed and as written, see ANSWER_FORMS_JSON) are removed from each line
    first: braces typed at the prompt are data, not leftovers."""
    found = []
    for path in project_files(project):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for line_no, line in enumerate(text.splitlines(), 1):
            for value in data:
                line = line.replace(value, "")
            if JINJA_LEFTOVER.search(line):
                found.append(f"{path.relative_to(project)}:{line_no}")
    return found


def check_jinja_leftovers(project: Path, answer_forms: Sequence[str]) -> list[str]:
    return [
        f"{name}: Jinja markup left after rendering"
        for name in find_jinja_leftovers(project, answer_forms)
    ]


def check_data_files(project: Path, answers: dict) -> list[str]:
    """Every YAML, JSON and TOML file parses (whatever the answers held)."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11: TOML files are not checked
        tomllib = None
    problems = []
    for path in project_files(project):
        name = str(path.relative_to(project))
        try:
            if path.suffix in (".yml", ".yaml"):
                load_yaml(path.read_text(encoding="utf-8"))
            elif path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix == ".toml" and tomllib is not None:
                tomllib.loads(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, ValueError, UnicodeDecodeError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            problems.append(f"{name}: does not parse ({type(error).__name__}: {first_line})")
    return problems


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _resolve(value: object, template: dict) -> object:
    """A `Ref` to a template parameter resolves to the parameter's Default."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        parameter = _mapping(template.get("Parameters")).get(value["Ref"])
        if isinstance(parameter, dict) and "Default" in parameter:
            return parameter["Default"]
    return value


def module_defines(path: Path, attribute: str) -> bool:
    """Whether the module at `path` binds `attribute` at its top level (parsed, not run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
        else:
            continue
        if attribute in names:
            return True
    return False


def handler_problems(project: Path, function_id: str, handler: object, code_uri: object) -> str:
    where = f"{SAM_TEMPLATE}: {function_id}"
    if not isinstance(handler, str) or "." not in handler:
        return f"{where}: Handler {handler!r} is not of the form module.attribute"
    if not isinstance(code_uri, str):
        return f"{where}: CodeUri {code_uri!r} is not a local directory"
    module, attribute = handler.rsplit(".", 1)
    base = project / code_uri
    candidates = [base / (module.replace(".", "/") + ".py"), base / module.replace(".", "/")]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None and (candidates[1] / "__init__.py").is_file():
        path = candidates[1] / "__init__.py"
    if path is None:
        return f"{where}: Handler {handler!r}: no module {module!r} under CodeUri {code_uri!r}"
    try:
        defined = module_defines(path, attribute)
    except SyntaxError as error:
        return f"{where}: Handler {handler!r}: {path.relative_to(project)} does not parse: {error}"
    if not defined:
        return (
            f"{where}: Handler {handler!r}: {path.relative_to(project)} defines no "
            f"{attribute!r} at its top level"
        )
    return ""


def check_sam_template(project: Path, answers: dict) -> list[str]:
    path = project / SAM_TEMPLATE
    if not path.is_file():
        return [f"{SAM_TEMPLATE}: missing"]
    try:
        template = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return []  # reported by check_data_files
    if not isinstance(template, dict):
        return [f"{SAM_TEMPLATE}: not a mapping"]
    problems = []
    transform = template.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    if SAM_TRANSFORM not in transforms:
        problems.append(f"{SAM_TEMPLATE}: Transform is {transform!r}, not {SAM_TRANSFORM!r}")

    resources = _mapping(template.get("Resources"))
    functions = {
        logical_id: _mapping(resource.get("Properties"))
        for logical_id, resource in resources.items()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Function"
    }
    if FUNCTION_ID not in functions:
        problems.append(f"{SAM_TEMPLATE}: no AWS::Serverless::Function named {FUNCTION_ID}")
    globals_ = _mapping(_mapping(template.get("Globals")).get("Function"))

    expected = {
        "Runtime": f"python{answers['python_version']}",
        "Architectures": [answers["architecture"]],
    }
    for function_id, properties in functions.items():

        def setting(key: str, properties: dict = properties) -> object:
            return _resolve(properties.get(key, globals_.get(key)), template)

        problem = handler_problems(
            project, function_id, setting("Handler"), setting("CodeUri") or "."
        )
        if problem:
            problems.append(problem)
        for key, value in expected.items():
            actual = setting(key)
            if key == "Architectures" and actual is None:
                actual = ["x86_64"]  # Lambda's default
            if actual != value:
                problems.append(
                    f"{SAM_TEMPLATE}: {function_id}: {key} is {actual!r} (in the function or "
                    f"Globals.Function), but the answers ask for {value!r}"
                )
    return problems


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def check_deploy_policy(project: Path, facts: dict) -> list[str]:
    """Each environment's policy file names the bucket and that environment's Lambda role."""
    problems = []
    for env in facts["environments"]:
        rel = env["policy_file"]
        path = project / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        try:
            policy = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue  # reported by check_data_files
        if not isinstance(policy, dict) or "Statement" not in policy:
            problems.append(f"{rel}: not an IAM policy document (no Statement)")
            continue
        strings = _strings(policy["Statement"])
        bucket, role = facts["bucket"], env["lambda_role"]
        if not any(f":::{bucket}" in s for s in strings):
            problems.append(f"{rel}: does not name the bucket (arn:aws:s3:::{bucket})")
        if not any(re.search(rf":role/(?:[^\s\"]*/)?{re.escape(role)}$", s) for s in strings):
            problems.append(f"{rel}: does not name the Lambda role (...:role/{role})")
    return problems


def collect_problems(
    project: Path, answers: dict, facts: dict, answer_forms: Sequence[str] = ()
) -> list[str]:
    return [
        *check_jinja_leftovers(project, answer_forms),
        *check_data_files(project, answers),
        *check_sam_template(project, answers),
        *check_deploy_policy(project, facts),
    ]


def main(
    answers_json: str = ANSWERS_JSON,
    project: Path | None = None,
    answer_forms_json: str = ANSWER_FORMS_JSON,
    model_json: str = MODEL_JSON,
) -> int:
    answers, facts = json.loads(answers_json), json.loads(model_json)
    project = project or Path.cwd()
    for removal in REMOVALS:
        removal(project, answers, facts)
    problems = collect_problems(project, answers, facts, json.loads(answer_forms_json))
    if problems:
        # cookiecutter removes the project directory when this hook fails.
        print(
            f"ERROR: the rendered project failed {len(problems)} check(s):",
            *problems,
            sep="\n  - ",
            file=sys.stderr,
        )
        print(
            "Nothing was kept: the project directory was removed. This is a bug of the "
            "template (or of a local change to it), not of your answers.",
            file=sys.stderr,
            flush=True,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
