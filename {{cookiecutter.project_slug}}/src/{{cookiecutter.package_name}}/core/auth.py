"""Who is calling: the claims API Gateway verified, as one FastAPI dependency.

API Gateway checks every token before the function runs (the HTTP API's JWT authorizer,
or the REST API's Cognito user pool authorizer) and hands over the verified claims in the
Lambda event, which Mangum puts in the ASGI scope as `scope["aws.event"]`:
`requestContext.authorizer.jwt.claims` (HTTP API, payload 2.0) or
`requestContext.authorizer.claims` (REST API). `current_principal` reads them, checks
issuer and audience again (defence in depth: a route that reaches the app without the
authorizer is still refused), and answers 401 without them. The token itself is never
parsed here. Why, and how to develop locally: docs/api-edge.md.
"""

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from {{ cookiecutter.package_name }}.core.config import Settings, get_settings, on_lambda

# Declares the bearer scheme in the OpenAPI document, so that the docs' "Authorize" button
# sends `Authorization: Bearer <token>`; API Gateway verifies it.
bearer_scheme = HTTPBearer(
    bearerFormat="JWT",
    description="A JWT from the issuer API Gateway trusts (docs/api-edge.md).",
    auto_error=False,
)


class Principal(BaseModel):
    """The verified caller."""

    subject: str
    scopes: list[str]
    claims: dict[str, str]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def gateway_claims(event: dict[str, Any]) -> dict[str, str] | None:
    """The claims API Gateway's authorizer put in `event`, or None."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    jwt = authorizer.get("jwt")
    claims = jwt.get("claims") if isinstance(jwt, dict) else authorizer.get("claims")
    if not isinstance(claims, dict) or not claims:
        return None
    return {str(name): str(value) for name, value in claims.items()}


def audiences(claims: dict[str, str]) -> set[str]:
    """`aud` (ID tokens; a list arrives as "[a b]") and `client_id` (Cognito access tokens)."""
    found = set(claims.get("aud", "").strip("[]").split())
    if "client_id" in claims:
        found.add(claims["client_id"])
    return found


async def current_principal(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The caller, from the claims API Gateway verified; 401 without them."""
    principal = _verified_principal(request.scope.get("aws.event"), settings)
    # The request's access log line names the caller (core/observability.py).
    request.state.principal_subject = principal.subject
    return principal


def _verified_principal(event: dict[str, Any] | None, settings: Settings) -> Principal:
    if event is None:
        # Not through API Gateway: only a local server, explicitly opted in.
        if settings.local_dev_subject and not on_lambda():
            subject = settings.local_dev_subject
            return Principal(subject=subject, scopes=[], claims={"sub": subject})
        raise _unauthorized("Not authenticated")
    claims = gateway_claims(event)
    if claims is None:
        raise _unauthorized("Not authenticated")
    if claims.get("iss") != settings.jwt_issuer:
        raise _unauthorized("Token issuer not accepted")
    if settings.jwt_audience not in audiences(claims):
        raise _unauthorized("Token audience not accepted")
    if not claims.get("sub"):
        raise _unauthorized("Token has no subject")
    return Principal(subject=claims["sub"], scopes=claims.get("scope", "").split(), claims=claims)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
