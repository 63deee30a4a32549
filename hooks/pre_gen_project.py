"""Pre-generation hook: refuse bad answers before anything is rendered.

The answers arrive as JSON data (rendered with ``| tojson`` into a raw triple-quoted
string), never pasted into code, so an answer holding quotes or Python is only ever a
string: ``tojson`` escapes every ``"`` inside a value as ``\\"`` and every line break as
``\\n``, so no value can close the string early. Each rule is one function that takes
the answers and returns a list of problems; ``main`` runs them all and prints every
problem at once. The hook is self-contained (cookiecutter runs a rendered copy of it
from a temporary file, so it cannot import its neighbours); the region list lives here.
"""

from __future__ import annotations

import difflib
import json
import keyword
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""

FREE_TEXT_FIELDS = ("project_name", "description", "author_name")

# --- AWS regions ------------------------------------------------------------------------
# Region codes of the commercial `aws` partition, kept offline so that a render needs no
# network. tests/test_hooks.py compares them with the endpoint data bundled in botocore,
# so a region AWS adds (or this list misses) fails the template's tests.
REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "me-west-1",
        "mx-central-1",
        "sa-east-1",
        "sa-west-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)

# Regions of the other partitions. They are refused with their own reason: the rendered
# IAM policies, trust policies and OIDC providers are written for the `aws` partition
# (`arn:aws:`, public GitHub/GitLab OIDC issuers), which these partitions do not share.
OTHER_PARTITION_REGIONS = {
    "cn-north-1": "aws-cn",
    "cn-northwest-1": "aws-cn",
    "us-gov-east-1": "aws-us-gov",
    "us-gov-west-1": "aws-us-gov",
    "us-iso-east-1": "aws-iso",
    "us-iso-west-1": "aws-iso",
    "us-isob-east-1": "aws-iso-b",
    "us-isob-west-1": "aws-iso-b",
    "eu-isoe-west-1": "aws-iso-e",
    "us-isof-east-1": "aws-iso-f",
    "us-isof-south-1": "aws-iso-f",
    "eusc-de-east-1": "aws-eusc",
}

LONGEST_REGION = max(len(region) for region in REGIONS)

# --- names derived from the answers (defaults in cookiecutter.json, and the bootstrap
# stack's own names), and the limits they must fit ----------------------------------------
BUCKET_MAX = 63  # S3
IAM_NAME_MAX = 64  # IAM role and user names
STACK_MAX = 128  # CloudFormation stack names
FUNCTION_MAX = 64  # Lambda function names
STAGE_MAX = 128  # API Gateway stage names

BUCKET_DEFAULT_INFIX = "-artifacts-"  # <slug>-artifacts-<region>
ROLE_DEFAULT_SUFFIX = "-lambda-role"  # <slug>-lambda-role
DEPLOY_SUFFIX = "-deploy"  # <stack_name>-deploy: the CI role (OIDC) or user (travis)
BOOTSTRAP_SUFFIX = "-bootstrap"  # <stack_name>-bootstrap: the bootstrap stack

# The slug's limit: every default derived from it must stay valid in every region.
SLUG_MAX = min(
    BUCKET_MAX - len(BUCKET_DEFAULT_INFIX) - LONGEST_REGION,  # 63 - 11 - 14 = 38
    IAM_NAME_MAX - len(ROLE_DEFAULT_SUFFIX),  # lambda role: 52
    IAM_NAME_MAX - len(DEPLOY_SUFFIX),  # deploy role/user of the default stack: 57
    STACK_MAX - len(BOOTSTRAP_SUFFIX),  # bootstrap stack of the default stack: 118
    FUNCTION_MAX,  # default function name: 64
)

# Modules the service (or its tests and dev tools) imports: a package of the same name
# would shadow them. Keys are the distributions of src/requirements.txt and the `dev`
# extra (a test keeps this in step with those files), values their import names.
SERVICE_IMPORTS = {
    "annotated-doc": {"annotated_doc"},
    "annotated-types": {"annotated_types"},
    "anyio": {"anyio"},
    "aws-lambda-powertools": {"aws_lambda_powertools"},
    "fastapi": {"fastapi"},
    "h11": {"h11"},
    "httpcore2": {"httpcore2"},
    "httpx2": {"httpx", "httpx2", "httpcore"},
    "idna": {"idna"},
    "jmespath": {"jmespath"},
    "mangum": {"mangum"},
    "opentelemetry-api": {"opentelemetry"},
    "opentelemetry-propagator-aws-xray": {"opentelemetry"},
    "opentelemetry-sdk": {"opentelemetry"},
    "opentelemetry-semantic-conventions": {"opentelemetry"},
    "pydantic": {"pydantic"},
    "pydantic-core": {"pydantic_core"},
    "pydantic-settings": {"pydantic_settings"},
    "python-dotenv": {"dotenv"},
    "starlette": {"starlette"},
    "typing-extensions": {"typing_extensions"},
    "truststore": {"truststore"},
    "typing-inspection": {"typing_inspection"},
    # dev extra
    "hypothesis": {"hypothesis"},
    "pytest": {"pytest", "_pytest", "pluggy"},
    "ruff": {"ruff"},
    "schemathesis": {"schemathesis"},
    "uvicorn": {"uvicorn"},
}
# The service's own top-level names, and the Lambda runtime's bootstrap modules.
PROJECT_IMPORTS = {"tests", "src", "conftest", "awslambdaric", "bootstrap", "boto3", "botocore"}
SHADOWED = (
    frozenset(sys.stdlib_module_names)
    | PROJECT_IMPORTS
    | {name for names in SERVICE_IMPORTS.values() for name in names}
)

S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3", "-an")

TRUE_WORDS = {"1", "true", "t", "yes", "y", "on"}


@dataclass(frozen=True)
class Problem:
    field: str
    value: object
    rule: str
    example: str

    def __str__(self) -> str:
        return (
            f"  - {self.field} = {self.value!r}\n"
            f"      rule: {self.rule}\n"
            f"      e.g.: {self.example}"
        )


Rule = Callable[[dict], list[Problem]]


def _text(answers: dict, field: str) -> str:
    value = answers.get(field, "")
    return value if isinstance(value, str) else str(value)


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in TRUE_WORDS
    return bool(value)


def _slug(answers: dict) -> str:
    return _text(answers, "project_slug") or "my-service"


# --- rules ---------------------------------------------------------------------------------


def check_free_text(answers: dict) -> list[Problem]:
    """Free text is rendered into YAML, TOML, JSON, Python and Markdown as one
    escaped line: refuse line breaks and control characters (tab is fine)."""
    problems = []
    for field in FREE_TEXT_FIELDS:
        value = _text(answers, field)
        bad = [
            ch
            for ch in value
            if ch != "\t" and unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp", "Cn", "Co")
        ]
        if bad:
            problems.append(
                Problem(
                    field,
                    value,
                    "a single line of printable text (no line breaks or control characters)",
                    'My Service: the "fast" one',
                )
            )
        elif field == "project_name" and not value.strip():
            problems.append(
                Problem(field, value, "must not be empty", "Orders API"),
            )
    return problems


def _name_rule(
    answers: dict, field: str, pattern: re.Pattern, max_len: int, rule: str, example: str
) -> list[Problem]:
    """A name made of `pattern`'s characters, at most `max_len` long."""
    value = _text(answers, field)
    if pattern.fullmatch(value) and len(value) <= max_len:
        return []
    return [Problem(field, value, rule, example)]


SLUG = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")


def check_project_slug(answers: dict) -> list[Problem]:
    return _name_rule(
        answers,
        "project_slug",
        SLUG,
        SLUG_MAX,
        "lowercase letters, digits and hyphens, starting with a letter and ending with a "
        f"letter or digit, at most {SLUG_MAX} characters (so that the default bucket "
        f"<slug>{BUCKET_DEFAULT_INFIX}<region> fits S3's {BUCKET_MAX} in every region, and "
        "the default role, stack and function names fit too)",
        "orders-api",
    )


PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")


def check_package_name(answers: dict) -> list[Problem]:
    value = _text(answers, "package_name")
    example = _slug(answers).replace("-", "_") + "_service"
    if not PACKAGE.fullmatch(value):
        rule = "a Python identifier of lowercase ASCII letters, digits and underscores"
    elif keyword.iskeyword(value) or keyword.issoftkeyword(value):
        rule = "a Python identifier that is not a keyword"
    elif value in SHADOWED:
        rule = (
            "must not shadow a module the service, its tests or Python's standard library "
            f"import ({value!r} is one)"
        )
    else:
        return []
    return [Problem("package_name", value, rule, example)]


def bucket_name_errors(name: str) -> list[str]:
    """Every S3 general-purpose bucket naming rule that `name` breaks."""
    errors = []
    if not 3 <= len(name) <= BUCKET_MAX:
        errors.append(f"3 to {BUCKET_MAX} characters (this one has {len(name)})")
    if not re.fullmatch(r"[a-z0-9.-]*", name):
        errors.append("only lowercase letters, digits, dots and hyphens")
    if name and not (name[0] in "abcdefghijklmnopqrstuvwxyz0123456789" and name[-1].isalnum()):
        errors.append("begins and ends with a letter or digit")
    if ".." in name:
        errors.append("no two adjacent periods")
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        errors.append("not formatted as an IP address (like 192.168.5.4)")
    errors += [f"must not start with {p!r}" for p in S3_RESERVED_PREFIXES if name.startswith(p)]
    errors += [f"must not end with {s!r}" for s in S3_RESERVED_SUFFIXES if name.endswith(s)]
    return errors


def check_deployment_bucket(answers: dict) -> list[Problem]:
    value = _text(answers, "deployment_bucket")
    errors = bucket_name_errors(value)
    if not errors:
        return []
    region = _text(answers, "aws_region")
    region = region if region in REGIONS else "eu-west-1"
    return [
        Problem(
            "deployment_bucket",
            value,
            "S3 bucket naming rules: " + "; ".join(errors),
            f"{_slug(answers)[:SLUG_MAX]}{BUCKET_DEFAULT_INFIX}{region}",
        )
    ]


def check_aws_region(answers: dict) -> list[Problem]:
    value = _text(answers, "aws_region")
    if value in REGIONS:
        return []
    if value in OTHER_PARTITION_REGIONS:
        rule = (
            f"{value} is in the {OTHER_PARTITION_REGIONS[value]} partition; this template "
            "renders policies and CI trust for the commercial `aws` partition only"
        )
        return [Problem("aws_region", value, rule, "eu-west-1")]
    close = difflib.get_close_matches(value.lower().strip(), sorted(REGIONS), n=1, cutoff=0.6)
    rule = "a known AWS region code (aws partition)"
    if close:
        rule += f"; did you mean {close[0]!r}?"
    return [Problem("aws_region", value, rule, close[0] if close else "eu-west-1")]


IAM_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]+")


def check_lambda_role_name(answers: dict) -> list[Problem]:
    return _name_rule(
        answers,
        "lambda_role_name",
        IAM_NAME,
        IAM_NAME_MAX,
        f"IAM role name: 1 to {IAM_NAME_MAX} letters, digits and +=,.@_-",
        f"{_slug(answers)[:SLUG_MAX]}{ROLE_DEFAULT_SUFFIX}",
    )


STACK = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def check_stack_name(answers: dict) -> list[Problem]:
    ci = _text(answers, "ci_provider")
    limit, why = STACK_MAX - len(BOOTSTRAP_SUFFIX), f"its bootstrap stack <stack>{BOOTSTRAP_SUFFIX}"
    if ci != "none":
        limit = IAM_NAME_MAX - len(DEPLOY_SUFFIX)
        why = f"the CI's IAM role or user <stack>{DEPLOY_SUFFIX} (IAM names: {IAM_NAME_MAX})"
    return _name_rule(
        answers,
        "stack_name",
        STACK,
        limit,
        "CloudFormation stack name: a letter, then letters, digits and hyphens; at most "
        f"{limit} characters, so that {why} stays valid",
        _slug(answers)[:SLUG_MAX],
    )


# Lambda function names and API Gateway stage names share one alphabet.
LETTERS_DIGITS_HYPHENS_UNDERSCORES = re.compile(r"[A-Za-z0-9_-]+")


def check_function_name(answers: dict) -> list[Problem]:
    return _name_rule(
        answers,
        "function_name",
        LETTERS_DIGITS_HYPHENS_UNDERSCORES,
        FUNCTION_MAX,
        f"Lambda function name: 1 to {FUNCTION_MAX} letters, digits, hyphens, underscores",
        _slug(answers)[:SLUG_MAX],
    )


def check_stage_name(answers: dict) -> list[Problem]:
    return _name_rule(
        answers,
        "stage_name",
        LETTERS_DIGITS_HYPHENS_UNDERSCORES,
        STAGE_MAX,
        f"API Gateway stage name: 1 to {STAGE_MAX} letters, digits, hyphens, underscores",
        "prod",
    )


def _integer(value: object) -> int | None:
    """A plain decimal integer (no sign, spaces or leading zeros), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"0|[1-9][0-9]{0,5}", value):
        return int(value)
    return None


def check_memory_size(answers: dict) -> list[Problem]:
    value = answers.get("memory_size")
    number = _integer(value)
    if number is not None and 128 <= number <= 10240:
        return []
    return [
        Problem(
            "memory_size",
            value,
            "Lambda memory in MB: an integer from 128 to 10240",
            "1024",
        )
    ]


API_TIMEOUT_LIMITS = {"rest": 29, "http": 30}


def check_timeout(answers: dict) -> list[Problem]:
    value = answers.get("timeout")
    api_type = _text(answers, "api_type")
    limit = API_TIMEOUT_LIMITS.get(api_type, 29)
    number = _integer(value)
    if number is not None and 1 <= number <= limit:
        return []
    name = {"rest": "REST API", "http": "HTTP API"}.get(api_type, api_type)
    return [
        Problem(
            "timeout",
            value,
            f"Lambda timeout in seconds: an integer from 1 to {limit}, the {name} "
            "integration limit (API Gateway answers 504 after that)",
            "10",
        )
    ]


def check_snapstart(answers: dict) -> list[Problem]:
    if not _bool(answers.get("snapstart", False)):
        return []
    version = _text(answers, "python_version")
    try:
        supported = tuple(int(part) for part in version.split(".")) >= (3, 12)
    except ValueError:
        supported = False
    if supported:
        return []
    return [
        Problem(
            "snapstart",
            answers.get("snapstart"),
            f"Lambda SnapStart needs Python 3.12 or newer (python_version is {version!r})",
            "snapstart=no, or python_version=3.13",
        )
    ]


EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def check_author_email(answers: dict) -> list[Problem]:
    value = _text(answers, "author_email")
    if value == "" or (EMAIL.fullmatch(value) and len(value) <= 254):
        return []
    return [
        Problem(
            "author_email",
            value,
            "an e-mail address (name@domain.tld, ASCII), or empty",
            "team@example.com",
        )
    ]


GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
REPO_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
GITLAB_SEGMENT = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,253}[A-Za-z0-9_-])?")


def repository_errors(value: str, ci_provider: str) -> str | None:
    parts = value.split("/")
    if ci_provider == "gitlab":
        if (
            len(parts) >= 2
            and all(GITLAB_SEGMENT.fullmatch(p) for p in parts)
            and not value.endswith((".git", ".atom"))
        ):
            return None
        return (
            "GitLab project path group/project or group/subgroup/.../project: letters, "
            "digits, '_', '-', '.' (not first or last), not ending in .git or .atom"
        )
    if (
        len(parts) == 2
        and GITHUB_OWNER.fullmatch(parts[0])
        and REPO_NAME.fullmatch(parts[1])
        and parts[1] not in (".", "..")
        and not parts[1].endswith(".git")
    ):
        return None
    return (
        "owner/name: the owner is letters, digits and single hyphens (at most 39), the "
        "name letters, digits, '.', '_', '-' (GitLab groups may nest with ci_provider=gitlab)"
    )


def check_repository(answers: dict) -> list[Problem]:
    value = _text(answers, "repository")
    error = repository_errors(value, _text(answers, "ci_provider"))
    if error is None:
        return []
    return [Problem("repository", value, error, f"my-org/{_slug(answers)}")]


RULES: list[Rule] = [
    check_free_text,
    check_project_slug,
    check_package_name,
    check_aws_region,
    check_deployment_bucket,
    check_lambda_role_name,
    check_stack_name,
    check_function_name,
    check_memory_size,
    check_timeout,
    check_stage_name,
    check_snapstart,
    check_author_email,
    check_repository,
]


def collect_problems(answers: dict) -> list[Problem]:
    """Run every rule and return all the problems found."""
    return [problem for rule in RULES for problem in rule(answers)]


def format_problems(problems: list[Problem]) -> str:
    return "\n".join(
        [
            f"ERROR: {len(problems)} answer(s) cannot be used:",
            *map(str, problems),
            "Nothing was generated. Fix the answers above and run cookiecutter again "
            "(cookiecutter's own 'Stopping generation' report follows).",
        ]
    )


def main(answers_json: str = ANSWERS_JSON) -> int:
    problems = collect_problems(json.loads(answers_json))
    if problems:
        print(format_problems(problems), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
