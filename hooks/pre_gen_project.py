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
# Canary deployments: the bootstrap's CodeDeploy service role <stack>-codedeploy and the
# pre-traffic hook's role <stack>-pre-traffic; the hook function <function>-pre-traffic.
CODEDEPLOY_SUFFIX = "-codedeploy"
PRE_TRAFFIC_SUFFIX = "-pre-traffic"
# environments=staging-production: every per-environment name (stack, function, roles) ends
# in -staging or -production; the longest suffix bounds them.
ENVIRONMENTS = {"single": ("",), "staging-production": ("-staging", "-production")}
DEPLOYMENT_STRATEGIES = ("canary", "all-at-once")
LONGEST_ENV_SUFFIX = max(len(s) for suffixes in ENVIRONMENTS.values() for s in suffixes)

# The slug's limit: every default derived from it must stay valid in every region.
SLUG_MAX = min(
    BUCKET_MAX - len(BUCKET_DEFAULT_INFIX) - LONGEST_REGION,  # 63 - 11 - 14 = 38
    IAM_NAME_MAX - len(ROLE_DEFAULT_SUFFIX),  # lambda role: 52
    IAM_NAME_MAX - len(DEPLOY_SUFFIX),  # deploy role/user of the default stack: 57
    # the longest per-environment role of the default stack: <slug>-production-pre-traffic
    IAM_NAME_MAX - LONGEST_ENV_SUFFIX - len(PRE_TRAFFIC_SUFFIX),  # 41
    IAM_NAME_MAX - LONGEST_ENV_SUFFIX - len(ROLE_DEFAULT_SUFFIX),  # lambda role: 41
    FUNCTION_MAX - LONGEST_ENV_SUFFIX - len(PRE_TRAFFIC_SUFFIX),  # hook function: 41
    STACK_MAX - len(BOOTSTRAP_SUFFIX),  # bootstrap stack of the default stack: 118
    FUNCTION_MAX,  # default function name: 64
)

# Modules the service (or its tests and dev tools) imports: a package of the same name
# would shadow them. Keys are the distributions uv.lock installs at runtime and the direct
# `dev` group dependencies (a test keeps this in step with those files), values their
# import names.
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
    # dev group
    "boto3-stubs": set(),  # stubs only (boto3-stubs/, mypy_boto3_* come with the extras)
    "mypy": {"mypy", "mypyc", "mypy_extensions"},
    "types-requests": set(),  # stubs only (requests-stubs/)
    "types-pyyaml": set(),  # stubs only (yaml-stubs/)
    "hypothesis": {"hypothesis"},
    "pytest": {"pytest", "_pytest", "pluggy"},
    "ruff": {"ruff"},
    "schemathesis": {"schemathesis"},
    "uvicorn": {"uvicorn"},
    "pyjwt": {"jwt"},
    "cryptography": {"cryptography", "cffi", "_cffi_backend", "pycparser"},
    "aws-sam-translator": {"samtranslator"},
    "cfn-lint": {"cfnlint"},
    "pyyaml": {"yaml", "_yaml"},
}
# The service's own top-level names, and the Lambda runtime's bootstrap modules.
PROJECT_IMPORTS = {
    "tests",
    "src",
    "conftest",
    "deploy_hooks",
    "deploy_policy",  # scripts/deploy_policy.py, as the service's test imports it
    "awslambdaric",
    "bootstrap",
    "boto3",
    "botocore",
}
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


def _env_suffix(answers: dict) -> str:
    """The longest environment suffix the answers' per-environment names receive."""
    return max(ENVIRONMENTS.get(_text(answers, "environments"), ("",)), key=len)


def _canary(answers: dict) -> bool:
    return _text(answers, "deployment_strategy") == "canary"


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
    env = _env_suffix(answers)
    limit = IAM_NAME_MAX - len(env)
    why = f", so that <role>{env} fits {IAM_NAME_MAX}" if env else ""
    return _name_rule(
        answers,
        "lambda_role_name",
        IAM_NAME,
        limit,
        f"IAM role name: 1 to {limit} letters, digits and +=,.@_-{why}",
        f"{_slug(answers)[:SLUG_MAX]}{ROLE_DEFAULT_SUFFIX}",
    )


STACK = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def check_stack_name(answers: dict) -> list[Problem]:
    """The stack name prefixes the bootstrap stack and, per environment, the bootstrap's
    IAM roles: the longest of those names must fit."""
    ci = _text(answers, "ci_provider")
    env = _env_suffix(answers)
    limit, why = STACK_MAX - len(BOOTSTRAP_SUFFIX), f"its bootstrap stack <stack>{BOOTSTRAP_SUFFIX}"
    iam_suffixes = [DEPLOY_SUFFIX] if ci != "none" else []
    iam_suffixes += [CODEDEPLOY_SUFFIX, PRE_TRAFFIC_SUFFIX] if _canary(answers) else []
    if iam_suffixes:
        longest = env + max(iam_suffixes, key=len)
        limit = IAM_NAME_MAX - len(longest)
        why = f"the bootstrap's IAM role <stack>{longest} (IAM names: {IAM_NAME_MAX})"
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
    env = _env_suffix(answers)
    longest = env + (PRE_TRAFFIC_SUFFIX if _canary(answers) else "")
    limit = FUNCTION_MAX - len(longest)
    why = f", so that <function>{longest} fits {FUNCTION_MAX}" if longest else ""
    return _name_rule(
        answers,
        "function_name",
        LETTERS_DIGITS_HYPHENS_UNDERSCORES,
        limit,
        f"Lambda function name: 1 to {limit} letters, digits, hyphens, underscores{why}",
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


def _optional_email(answers: dict, field: str, purpose: str, example: str) -> list[Problem]:
    """An e-mail address (at most 254 characters, ASCII), or empty."""
    value = _text(answers, field)
    if value == "" or (EMAIL.fullmatch(value) and len(value) <= 254):
        return []
    return [Problem(field, value, f"an e-mail address (name@domain.tld, ASCII){purpose}", example)]


def check_author_email(answers: dict) -> list[Problem]:
    return _optional_email(answers, "author_email", ", or empty", "team@example.com")


def check_alarm_email(answers: dict) -> list[Problem]:
    """The alarms' SNS topic subscribes this address (SNS sends it a confirmation)."""
    return _optional_email(
        answers, "alarm_email", " for the alarms, or empty for none", "oncall@example.com"
    )


def _choice(answers: dict, field: str, allowed: tuple[str, ...], example: str) -> list[Problem]:
    value = _text(answers, field)
    if value in allowed:
        return []
    rule = "one of " + ", ".join(allowed)
    return [Problem(field, answers.get(field), rule, example)]


def check_environments(answers: dict) -> list[Problem]:
    return _choice(answers, "environments", tuple(ENVIRONMENTS), "staging-production")


def check_deployment_strategy(answers: dict) -> list[Problem]:
    return _choice(answers, "deployment_strategy", DEPLOYMENT_STRATEGIES, "canary")


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


# --- the API's edge: authentication, CORS, custom domain (docs/api-edge.md of a render) ---

HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def hostname_errors(host: str) -> list[str]:
    """Every DNS hostname rule that `host` breaks (lowercase, letter-digit-hyphen labels)."""
    labels = host.split(".")
    errors = []
    if not 1 <= len(host) <= 253:
        errors.append(f"1 to 253 characters (this one has {len(host)})")
    if len(labels) < 2:
        errors.append("at least two labels (name.tld)")
    if not all(HOST_LABEL.fullmatch(label) for label in labels):
        errors.append(
            "labels of 1 to 63 lowercase letters, digits and hyphens, not starting or ending "
            "with a hyphen"
        )
    elif len(labels) >= 2 and not re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]+", labels[-1]):
        errors.append("a top-level domain of letters")
    return errors


def _auth_field(answers: dict, field: str, rule: str, example: str) -> list[Problem]:
    """With auth=none a JWT answer would silently do nothing: refuse it. With auth=jwt it is
    required."""
    value = _text(answers, field)
    if _text(answers, "auth") != "jwt":
        if value:
            return [Problem(field, value, "only with auth=jwt (leave it empty)", "")]
        return []
    if not value:
        return [Problem(field, value, "required with auth=jwt: " + rule, example)]
    return []


COGNITO_ISSUER = re.compile(
    r"https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([a-z0-9-]+)_[A-Za-z0-9]+"
)
URL_SAFE = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%-]+")


def jwt_issuer_errors(issuer: str, api_type: str) -> list[str]:
    """What makes `issuer` unusable as the API's JWT issuer, or nothing."""
    match = re.fullmatch(r"https://([^/?#:@]+)(:[0-9]{1,5})?(/[^?#]*)?", issuer)
    if not match or not URL_SAFE.fullmatch(issuer):
        return ["an https URL without user, query or fragment (https://host/path)"]
    errors = [f"host: {e}" for e in hostname_errors(match.group(1))]
    cognito = COGNITO_ISSUER.fullmatch(issuer)
    if cognito and cognito.group(1) != cognito.group(2):
        errors.append("a Cognito user pool ID starts with the region of its issuer host")
    if api_type == "rest" and not cognito:
        errors.append(
            "with api_type=rest, a Cognito user pool issuer (the REST API verifies tokens "
            "natively only with a Cognito authorizer; the HTTP API accepts any OIDC issuer)"
        )
    return errors


def check_jwt_issuer(answers: dict) -> list[Problem]:
    example = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    problems = _auth_field(answers, "jwt_issuer", "an https issuer URL", example)
    issuer = _text(answers, "jwt_issuer")
    if problems or _text(answers, "auth") != "jwt":
        return problems
    errors = jwt_issuer_errors(issuer, _text(answers, "api_type"))
    if not errors:
        return []
    return [Problem("jwt_issuer", issuer, "JWT issuer: " + "; ".join(errors), example)]


def check_jwt_audience(answers: dict) -> list[Problem]:
    example = "1example23456789abcdefghij (an app client ID) or https://api.example.com"
    problems = _auth_field(answers, "jwt_audience", "the audience tokens carry", example)
    value = _text(answers, "jwt_audience")
    if problems or not value or (URL_SAFE.fullmatch(value) and len(value) <= 256):
        return problems
    return [
        Problem(
            "jwt_audience",
            value,
            "JWT audience: 1 to 256 URL characters (letters, digits and -._~:/?#[]@!$&()*+,;=%; "
            "no spaces or quotes)",
            example,
        )
    ]


CORS_ORIGIN = re.compile(r"(https?)://([^/:?#@]+)(?::([0-9]{1,5}))?")


def cors_origin_errors(origin: str) -> list[str]:
    """What makes `origin` unusable as a CORS origin (what browsers send in `Origin`)."""
    match = CORS_ORIGIN.fullmatch(origin)
    if not match:
        return ["scheme://host[:port] with scheme http or https, and no path (not even /)"]
    host, port = match.group(2), match.group(3)
    errors = []
    if host != "localhost" and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", host):
        errors += [f"host: {e}" for e in hostname_errors(host)]
    if port is not None and not (1 <= int(port) <= 65535 and str(int(port)) == port):
        errors.append("a port from 1 to 65535")
    return errors


def cors_origins(value: str) -> list[str]:
    """The origins of the comma-separated answer (spaces around commas allowed)."""
    return [origin.strip() for origin in value.split(",")] if value.strip() else []


def check_cors_origins(answers: dict) -> list[Problem]:
    value = _text(answers, "cors_origins")
    origins = cors_origins(value)
    errors = []
    if "*" in origins and len(origins) > 1:
        errors.append("`*` (any origin) stands alone")
    if len(set(origins)) != len(origins):
        errors.append("each origin once")
    for origin in origins:
        if origin != "*":
            errors += [f"{origin!r}: {e}" for e in cors_origin_errors(origin)]
    if not errors:
        return []
    return [
        Problem(
            "cors_origins",
            value,
            "comma-separated browser origins, or `*` alone, or empty: " + "; ".join(errors),
            "https://app.example.com,http://localhost:3000",
        )
    ]


def check_domain_name(answers: dict) -> list[Problem]:
    value = _text(answers, "domain_name")
    errors = hostname_errors(value) if value else []
    if not errors and value and _text(answers, "environments") == "staging-production":
        # Both stacks would create the same custom domain: the second deploy would fail.
        rule = "empty with environments=staging-production: both stacks would create the domain"
        return [Problem("domain_name", value, rule, "")]
    if not errors:
        return []
    return [
        Problem(
            "domain_name",
            value,
            "a lowercase DNS name (no scheme, path or wildcard): " + "; ".join(errors),
            "api.example.com",
        )
    ]


ACM_ARN = re.compile(
    r"arn:aws:acm:([a-z0-9-]+):[0-9]{12}:certificate/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def check_certificate_arn(answers: dict) -> list[Problem]:
    value = _text(answers, "certificate_arn")
    region = _text(answers, "aws_region")
    example = f"arn:aws:acm:{region}:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    if not _text(answers, "domain_name"):
        rule = "only with domain_name (leave it empty)"
        return [Problem("certificate_arn", value, rule, "")] if value else []
    match = ACM_ARN.fullmatch(value)
    if not match:
        rule = (
            "required with domain_name: the ARN of an ACM certificate "
            "(arn:aws:acm:<region>:<account>:certificate/<uuid>) that covers the domain"
        )
    elif match.group(1) != region:
        rule = (
            f"a certificate in aws_region ({region}): a regional API endpoint uses a "
            f"certificate of its own region (this one is in {match.group(1)})"
        )
    else:
        return []
    return [Problem("certificate_arn", value, rule, example)]


HOSTED_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,31}")


def check_hosted_zone_id(answers: dict) -> list[Problem]:
    value = _text(answers, "hosted_zone_id")
    if not value:
        return []
    if not _text(answers, "domain_name"):
        rule = "only with domain_name (the zone gets the domain's DNS record; leave it empty)"
    elif not HOSTED_ZONE_ID.fullmatch(value):
        rule = "a Route 53 hosted zone ID: Z and up to 31 uppercase letters and digits"
    else:
        return []
    return [Problem("hosted_zone_id", value, rule, "Z0123456789ABCDEFGHIJ")]


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
    check_environments,
    check_deployment_strategy,
    check_alarm_email,
    check_jwt_issuer,
    check_jwt_audience,
    check_cors_origins,
    check_domain_name,
    check_certificate_arn,
    check_hosted_zone_id,
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
