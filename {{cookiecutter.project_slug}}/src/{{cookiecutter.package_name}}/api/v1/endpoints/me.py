"""Who am I: the verified caller, as the app sees it."""

from fastapi import APIRouter

from {{ cookiecutter.package_name }}.core.auth import CurrentPrincipal, Principal

router = APIRouter()


@router.get("/me")
async def me(principal: CurrentPrincipal) -> Principal:
    """Return the caller's subject, scopes and verified claims."""
    return principal
