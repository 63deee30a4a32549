"""Pre-generation hook: refuse bad answers before anything is rendered.

The answers arrive as JSON data (rendered with ``| tojson`` into a raw triple-quoted
string), never pasted into code, so an answer holding quotes or Python is only ever a
string: ``tojson`` escapes every ``"`` inside a value as ``\\"`` and every line break as
``\\n``, so no value can close the string early. The model of the answers
(``model`` in local_extensions.py: the flags, the names each environment gives, the
name-length limits, the regions, the Cognito pool of the issuer) arrives the same way, so
that a rule checks what the templates will write instead of working it out again. Each
rule is one function of the answers and the model that returns a list of problems;
``main`` runs them all and prints every problem at once. The hook is self-contained
(cookiecutter runs a rendered copy of it from a temporary file, so it cannot import its
neighbours).
"""

from __future__ import annotations

import difflib
import json
import keyword
import re
import secrets
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
MODEL_JSON = r"""{{ cookiecutter | model | tojson }}"""

FREE_TEXT_FIELDS = ("project_name", "description", "author_name")

# --- AWS regions ------------------------------------------------------------------------
# The regions the template deploys to are the model's (`regions`: AWS_REGIONS in
# local_extensions.py). Regions of the other partitions are refused with their own reason:
# the rendered IAM policies, trust policies and OIDC providers are written for the `aws`
# partition (`arn:aws:`, public GitHub/GitLab OIDC issuers), which these partitions do not
# share.
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
    "moto": {"moto"},
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

# --- names: every name the answers derive, its suffixes and the limit it must fit are the
# model's (`limits`: local_extensions.name_limits); the name rules below only compare.
BUCKET_MAX = 63  # S3

S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3", "-an")


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


Rule = Callable[[dict, dict], list[Problem]]


def _text(answers: dict, field: str) -> str:
    value = answers.get(field, "")
    return value if isinstance(value, str) else str(value)


def _slug(answers: dict) -> str:
    return _text(answers, "project_slug") or "my-service"


def _short_slug(answers: dict, facts: dict) -> str:
    """The slug, cut to its limit: the examples of names derived from it stay valid."""
    return _slug(answers)[: facts["limits"]["project_slug"]["max"]]


# --- rules ---------------------------------------------------------------------------------


def check_free_text(answers: dict, facts: dict) -> list[Problem]:
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


def check_project_slug(answers: dict, facts: dict) -> list[Problem]:
    limit = facts["limits"]["project_slug"]
    return _name_rule(
        answers,
        "project_slug",
        SLUG,
        limit["max"],
        "lowercase letters, digits and hyphens, starting with a letter and ending with a "
        f"letter or digit, at most {limit['max']} characters (so that the default bucket "
        f"{limit['name']} fits S3's {limit['fits']}, and the default role, stack and "
        "function names fit too)",
        "orders-api",
    )


PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")


def check_package_name(answers: dict, facts: dict) -> list[Problem]:
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


def check_deployment_bucket(answers: dict, facts: dict) -> list[Problem]:
    value = _text(answers, "deployment_bucket")
    errors = bucket_name_errors(value)
    if not errors:
        return []
    # The example is the default's shape with a fresh suffix, never a name to share.
    suffix = secrets.token_hex(facts["bucket_suffix_length"] // 2)
    return [
        Problem(
            "deployment_bucket",
            value,
            "S3 bucket naming rules: " + "; ".join(errors),
            facts["default_names"]["deployment_bucket"].format(
                slug=_short_slug(answers, facts), suffix=suffix
            ),
        )
    ]


def check_aws_region(answers: dict, facts: dict) -> list[Problem]:
    value = _text(answers, "aws_region")
    if value in facts["regions"]:
        return []
    if value in OTHER_PARTITION_REGIONS:
        rule = (
            f"{value} is in the {OTHER_PARTITION_REGIONS[value]} partition; this template "
            "renders policies and CI trust for the commercial `aws` partition only"
        )
        return [Problem("aws_region", value, rule, "eu-west-1")]
    close = difflib.get_close_matches(
        value.lower().strip(), sorted(facts["regions"]), n=1, cutoff=0.6
    )
    rule = "a known AWS region code (aws partition)"
    if close:
        rule += f"; did you mean {close[0]!r}?"
    return [Problem("aws_region", value, rule, close[0] if close else "eu-west-1")]


IAM_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]+")


def _limited_name(
    answers: dict, facts: dict, field: str, pattern: re.Pattern, rule: str, example: str
) -> list[Problem]:
    """A name rule whose length limit is the model's: the longest name derived from the
    answer must fit its own limit."""
    limit = facts["limits"][field]
    return _name_rule(answers, field, pattern, limit["max"], rule.format(**limit), example)


def check_lambda_role_name(answers: dict, facts: dict) -> list[Problem]:
    why = ", so that {name} fits {fits}" if facts["multi"] else ""
    return _limited_name(
        answers,
        facts,
        "lambda_role_name",
        IAM_NAME,
        "IAM role name: 1 to {max} letters, digits and +=,.@_-" + why,
        facts["default_names"]["lambda_role_name"].format(slug=_short_slug(answers, facts)),
    )


STACK = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def check_stack_name(answers: dict, facts: dict) -> list[Problem]:
    """The stack name prefixes the bootstrap stack and, per environment, the bootstrap's
    IAM roles: the longest of those names must fit. With secrets=parameter-store it also
    starts the service's parameter names, which must not start with what SSM reserves."""
    iam = facts["limits"]["stack_name"]["of"] == "IAM names"
    why = "{what} {name} ({of}: {fits})" if iam else "{what} {name}"
    problems = _limited_name(
        answers,
        facts,
        "stack_name",
        STACK,
        "CloudFormation stack name: a letter, then letters, digits and hyphens; at most "
        "{max} characters, so that " + why + " stays valid",
        _short_slug(answers, facts),
    )
    value = _text(answers, "stack_name")
    reserved = facts["ssm_reserved_prefixes"]
    if not problems and facts["secrets"]["ssm"] and value.lower().startswith(tuple(reserved)):
        rule = (
            "with secrets=parameter-store, not starting with "
            + " or ".join(repr(p) for p in reserved)
            + " (any case): the service's parameters are named /<stack>/..., and Parameter "
            "Store refuses names with those prefixes"
        )
        problems.append(Problem("stack_name", value, rule, "orders-" + value.lower()[:20]))
    return problems


# Lambda function names and API Gateway stage names share one alphabet.
LETTERS_DIGITS_HYPHENS_UNDERSCORES = re.compile(r"[A-Za-z0-9_-]+")


def check_function_name(answers: dict, facts: dict) -> list[Problem]:
    longer = facts["multi"] or facts["canary"]
    return _limited_name(
        answers,
        facts,
        "function_name",
        LETTERS_DIGITS_HYPHENS_UNDERSCORES,
        "Lambda function name: 1 to {max} letters, digits, hyphens, underscores"
        + (", so that {name} fits {fits}" if longer else ""),
        _short_slug(answers, facts),
    )


def check_stage_name(answers: dict, facts: dict) -> list[Problem]:
    return _limited_name(
        answers,
        facts,
        "stage_name",
        LETTERS_DIGITS_HYPHENS_UNDERSCORES,
        "API Gateway stage name: 1 to {max} letters, digits, hyphens, underscores",
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


def check_memory_size(answers: dict, facts: dict) -> list[Problem]:
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


def check_timeout(answers: dict, facts: dict) -> list[Problem]:
    value = answers.get("timeout")
    limit, name = facts["api"]["timeout_max"], facts["api"]["title"]
    number = _integer(value)
    if number is not None and 1 <= number <= limit:
        return []
    return [
        Problem(
            "timeout",
            value,
            f"Lambda timeout in seconds: an integer from 1 to {limit}, the {name} "
            "integration limit (API Gateway answers 504 after that)",
            "10",
        )
    ]


def check_snapstart(answers: dict, facts: dict) -> list[Problem]:
    if not facts["snapstart"]:
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


def check_author_email(answers: dict, facts: dict) -> list[Problem]:
    return _optional_email(answers, "author_email", ", or empty", "team@example.com")


def check_alarm_email(answers: dict, facts: dict) -> list[Problem]:
    """The alarms' SNS topic subscribes this address (SNS sends it a confirmation)."""
    return _optional_email(
        answers, "alarm_email", " for the alarms, or empty for none", "oncall@example.com"
    )


def _choice(answers: dict, field: str, allowed: list[str], example: str) -> list[Problem]:
    value = _text(answers, field)
    if value in allowed:
        return []
    rule = "one of " + ", ".join(allowed)
    return [Problem(field, answers.get(field), rule, example)]


def check_environments(answers: dict, facts: dict) -> list[Problem]:
    return _choice(answers, "environments", facts["choices"]["environments"], "staging-production")


def check_deployment_strategy(answers: dict, facts: dict) -> list[Problem]:
    return _choice(
        answers, "deployment_strategy", facts["choices"]["deployment_strategy"], "canary"
    )


def check_datastore(answers: dict, facts: dict) -> list[Problem]:
    return _choice(answers, "datastore", facts["choices"]["datastore"], "dynamodb")


def check_secrets(answers: dict, facts: dict) -> list[Problem]:
    return _choice(answers, "secrets", facts["choices"]["secrets"], "secrets-manager")


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


def check_repository(answers: dict, facts: dict) -> list[Problem]:
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


def _auth_field(answers: dict, facts: dict, field: str, rule: str, example: str) -> list[Problem]:
    """With auth=none a JWT answer would silently do nothing: refuse it. With auth=jwt it is
    required."""
    value = _text(answers, field)
    if not facts["jwt"]:
        if value:
            return [Problem(field, value, "only with auth=jwt (leave it empty)", "")]
        return []
    if not value:
        return [Problem(field, value, "required with auth=jwt: " + rule, example)]
    return []


URL_SAFE = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%-]+")


def jwt_issuer_errors(issuer: str, facts: dict) -> list[str]:
    """What makes `issuer` unusable as the API's JWT issuer, or nothing. The model has read
    the Cognito user pool of the issuer, if it is one (`cognito`)."""
    match = re.fullmatch(r"https://([^/?#:@]+)(:[0-9]{1,5})?(/[^?#]*)?", issuer)
    if not match or not URL_SAFE.fullmatch(issuer):
        return ["an https URL without user, query or fragment (https://host/path)"]
    errors = [f"host: {e}" for e in hostname_errors(match.group(1))]
    cognito = facts["cognito"]
    if cognito and cognito["host_region"] != cognito["region"]:
        errors.append("a Cognito user pool ID starts with the region of its issuer host")
    if facts["rest"] and not cognito:
        errors.append(
            "with api_type=rest, a Cognito user pool issuer (the REST API verifies tokens "
            "natively only with a Cognito authorizer; the HTTP API accepts any OIDC issuer)"
        )
    return errors


def check_jwt_issuer(answers: dict, facts: dict) -> list[Problem]:
    example = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    problems = _auth_field(answers, facts, "jwt_issuer", "an https issuer URL", example)
    issuer = _text(answers, "jwt_issuer")
    if problems or not facts["jwt"]:
        return problems
    errors = jwt_issuer_errors(issuer, facts)
    if not errors:
        return []
    return [Problem("jwt_issuer", issuer, "JWT issuer: " + "; ".join(errors), example)]


def check_jwt_audience(answers: dict, facts: dict) -> list[Problem]:
    example = "1example23456789abcdefghij (an app client ID) or https://api.example.com"
    problems = _auth_field(answers, facts, "jwt_audience", "the audience tokens carry", example)
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


def check_cors_origins(answers: dict, facts: dict) -> list[Problem]:
    value = _text(answers, "cors_origins")
    origins = facts["origins"]  # the model reads the list as the templates do
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


def check_domain_name(answers: dict, facts: dict) -> list[Problem]:
    value = _text(answers, "domain_name")
    errors = hostname_errors(value) if value else []
    if not errors and value and facts["multi"]:
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


def check_certificate_arn(answers: dict, facts: dict) -> list[Problem]:
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


def check_hosted_zone_id(answers: dict, facts: dict) -> list[Problem]:
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
    check_datastore,
    check_secrets,
    check_alarm_email,
    check_jwt_issuer,
    check_jwt_audience,
    check_cors_origins,
    check_domain_name,
    check_certificate_arn,
    check_hosted_zone_id,
]


def collect_problems(answers: dict, facts: dict) -> list[Problem]:
    """Run every rule on the answers and their model; return all the problems found."""
    return [problem for rule in RULES for problem in rule(answers, facts)]


def format_problems(problems: list[Problem]) -> str:
    return "\n".join(
        [
            f"ERROR: {len(problems)} answer(s) cannot be used:",
            *map(str, problems),
            "Nothing was generated. Fix the answers above and run cookiecutter again "
            "(cookiecutter's own 'Stopping generation' report follows).",
        ]
    )


def main(answers_json: str = ANSWERS_JSON, model_json: str = MODEL_JSON) -> int:
    problems = collect_problems(json.loads(answers_json), json.loads(model_json))
    if problems:
        print(format_problems(problems), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
