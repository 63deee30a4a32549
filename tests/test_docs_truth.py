"""Every rendered doc tells the truth about its own render: each path, stack name, output,
parameter and `sam` / `aws` command that the README and docs/*.md show (in code spans and
code blocks) exists in that render. A two-environment render must not describe the one-stack
set-up, and no render names a file that only another render (or the template) has."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from tests import stacks
from tests.helpers import MARKDOWN, SINGLE_OPTIONS, TEMPLATE, load_yaml, single_option

PRESETS = {
    path.stem: yaml.safe_load(path.read_text())["default_context"]
    for path in sorted((TEMPLATE / "presets").glob("*.yaml"))
}
RENDERS = {
    "defaults": {},
    **{f"{key}={value}": single_option(key, value) for key, value in SINGLE_OPTIONS},
    **{f"preset:{name}": answers for name, answers in PRESETS.items()},
}

# Files the docs name that a service gets later, by a documented step: `cruft create` or
# `cruft link` writes `.cruft.json`.
MADE_LATER = {".cruft.json"}
FILE = re.compile(
    r"(?:file://)?((?:\.?[\w<>*-]+/)*\.?[\w<>*-]+\.(?:ya?ml|json|toml|md|py|txt|lock))$"
)
TOP_DIRS = ("src/", "tests/", "docs/", "iam/", "infra/", "scripts/", ".github/")


def documents(project: Path) -> list[Path]:
    return [project / "README.md", *sorted((project / "docs").glob("*.md"))]


def code(path: Path) -> tuple[list[str], list[str], list[str]]:
    """(inline code spans, lines of fenced code blocks, paths drawn in file trees) of a
    Markdown document."""
    spans, lines, tree_paths = [], [], []
    for token in MARKDOWN.parse(path.read_text(encoding="utf-8")):
        if token.type == "fence" and TREE.search(token.content):
            tree_paths += tree(token.content)
        elif token.type == "fence":
            # Continuation lines (`\`) make one command.
            lines += token.content.replace("\\\n", " ").splitlines()
        spans += [child.content for child in token.children or [] if child.type == "code_inline"]
    return spans, lines, tree_paths


TREE = re.compile(r"[├└]── ")


def tree(block: str) -> list[str]:
    """The paths a `tree`-style drawing shows (`├── src/` then `│   ├── Makefile`)."""
    paths, parents = [], []
    for line in block.splitlines():
        match = TREE.search(line)
        if not match:
            continue
        depth = match.start() // 4
        name = line[match.end() :].split("#")[0].strip()
        parents = [*parents[:depth], name.rstrip("/")]
        paths.append("/".join(parents) + ("/" if name.endswith("/") else ""))
    return paths


def words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:  # an unbalanced quote in prose: split on white space
        return text.split()


class Render:
    """What exists in a render: its files, stacks, outputs, parameters, config envs."""

    def __init__(self, project: Path) -> None:
        self.project = project
        answers = json.loads((project / ".cookiecutter.json").read_text())["default_context"]
        self.package = project / "src" / answers["package_name"]
        self.template = load_yaml(project / "template.yml")
        self.bootstrap = load_yaml(project / "infra" / "bootstrap.yml")
        self.targets = stacks.deploy_targets(project)
        self.samconfig = tomllib.loads((project / "samconfig.toml").read_text())
        self.outputs = set(self.template.get("Outputs", {})) | set(self.bootstrap["Outputs"])
        self.bootstrap_stacks: set[str] = set()

    def file_exists(self, name: str) -> bool:
        if name in MADE_LATER:
            return True
        pattern = re.sub(r"<[^>]+>", "*", name)
        bases = [self.project, self.package, self.project / "src", self.project / "docs"]
        return any(next(base.glob(pattern), None) for base in bases)

    def stack_names(self) -> set[str]:
        return {target.stack for target in self.targets} | self.bootstrap_stacks

    def config_envs(self) -> set[str]:
        return {target.config_env for target in self.targets}


def path_problems(render: Render, token: str) -> list[str]:
    match = FILE.fullmatch(token.strip("'\"(),:"))
    if not match or token.startswith("/") or "://" in token.removeprefix("file://"):
        return []
    name = match.group(1)  # a bare name (`main.py`) is looked up in the package too
    if render.file_exists(name):
        return []
    return [f"names the file {name}, which this render does not have"]


def command_problems(render: Render, command: list[str]) -> list[str]:
    """What is wrong with one `sam` or `aws` command line shown in a doc."""
    problems = []
    flags = {
        word: command[i + 1] if i + 1 < len(command) else ""
        for i, word in enumerate(command)
        if word.startswith("--")
    }
    tool, verb = command[0], command[1] if len(command) > 1 else ""
    template_file = flags.get("--template-file", "")
    if tool == "sam" and verb in {"deploy", "delete"} and len(command) > 2:
        env = flags.get("--config-env", "default")
        if (
            not env.startswith("<")
            and env not in render.config_envs()
            and "--stack-name" not in flags
        ):
            problems.append(
                f"`sam {verb}` uses samconfig's [{env}], which deploys nothing "
                f"(config envs: {sorted(render.config_envs())})"
            )
    if "--stack-name" in flags:
        stack = flags["--stack-name"]
        if template_file == "infra/bootstrap.yml":
            render.bootstrap_stacks.add(stack)
        elif not stack.startswith(("$", "<", '"$')) and stack not in render.stack_names():
            problems.append(f"names the stack {stack}, which this render does not deploy")
    if template_file and not render.file_exists(template_file):
        problems.append(f"deploys {template_file}, which this render does not have")
    if "--parameter-overrides" in flags:
        template = render.bootstrap if template_file == "infra/bootstrap.yml" else render.template
        start = command.index("--parameter-overrides") + 1
        for pair in command[start:]:
            if pair.startswith("--") or "=" not in pair:
                break
            name = pair.split("=", 1)[0]
            if name not in template.get("Parameters", {}):
                problems.append(f"overrides the parameter {name}, which the template lacks")
    return problems


def commands_in(text: str) -> list[list[str]]:
    """The `sam` and `aws` command lines in a line of shell (split on `&&`, `|`, `;`, `$(`)."""
    found = []
    for part in re.split(r"&&|\|\||[|;]|\$\(", text):
        command = words(part.strip())
        if command and command[0] in {"sam", "aws"}:
            found.append(command)
    return found


OUTPUT_NAME = re.compile(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+")


def output_problems(render: Render, text: str) -> list[str]:
    """Outputs a doc names: `OutputKey=='X'` and code spans in the sentence after the word
    "output"/"outputs"."""
    named = set(re.findall(r"OutputKey==\\?'(\w+)\\?'", text))
    for sentence in re.findall(r"\b[Oo]utputs?\b[^.;)\n]*", text):
        named |= {
            span
            for span in re.findall(r"`([^`]+)`", sentence)
            if OUTPUT_NAME.fullmatch(span) and span not in {"Staging", "Production"}
        }
    return [
        f"names the output {name}, which neither stack of this render has"
        for name in sorted(named - render.outputs)
    ]


def doc_problems(project: Path) -> list[str]:
    render = Render(project)
    problems = []
    docs = documents(project)
    # Bootstrap stack names first: other commands may refer to them.
    for path in docs:
        for line in code(path)[1]:
            for command in commands_in(line):
                command_problems(render, command)
    for path in docs:
        name = path.relative_to(project).as_posix()
        spans, lines, drawn = code(path)
        found = []
        for token in spans + [word for line in lines for word in words(line)]:
            found += path_problems(render, token)
        found += [
            f"draws {entry} in its layout, which this render does not have"
            for entry in drawn
            if not render.file_exists(entry.rstrip("/"))
        ]
        for text in lines + [span for span in spans if " --" in span]:
            for command in commands_in(text):
                found += command_problems(render, command)
        found += output_problems(render, path.read_text(encoding="utf-8"))
        problems += [f"{name}: {problem}" for problem in dict.fromkeys(found)]
    return problems


@pytest.mark.parametrize("name", RENDERS)
def test_every_doc_names_only_what_its_render_has(render, name):
    assert doc_problems(render(**RENDERS[name])) == []


def test_a_doc_that_describes_another_render_fails(bake):
    """A one-stack command, a missing file, a stack, an output and a parameter that the
    two-environment render lacks are each reported."""
    project = bake(environments="staging-production")
    assert doc_problems(project) == []
    (project / "docs" / "extra.md").write_text(
        "# Extra\n\nOutputs: `DeployRoleArn`.\n\n```bash\n"
        "sam validate && sam deploy --no-progressbar\n"
        "aws cloudformation describe-stacks --stack-name nope\n"
        "sam deploy --config-env staging --parameter-overrides Nope=1\n```\n\n"
        "See `iam/deploy-policy.json` and `presets/api-edge.yaml`.\n"
    )
    problems = [p.removeprefix("docs/extra.md: ") for p in doc_problems(project)]
    assert sorted(problems) == sorted(
        [
            "names the file iam/deploy-policy.json, which this render does not have",
            "names the file presets/api-edge.yaml, which this render does not have",
            "`sam deploy` uses samconfig's [default], which deploys nothing "
            "(config envs: ['production', 'staging'])",
            "names the stack nope, which this render does not deploy",
            "overrides the parameter Nope, which the template lacks",
            "names the output DeployRoleArn, which neither stack of this render has",
        ]
    ), problems
