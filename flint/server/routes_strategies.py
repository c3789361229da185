"""``/strategies`` (the registered catalogue) and ``/user-strategies`` (saved code, only
ever loaded in the sandbox)."""

import pathlib
from typing import Annotated

import click
from fastapi import APIRouter, Depends, HTTPException, Path, Request

from flint.server import queries
from flint.server import strategies as user
from flint.server.models import (
    CodeBody,
    Deleted,
    Error,
    Saved,
    StrategyInfo,
    StrategyList,
    UserStrategy,
    UserStrategyBody,
    UserStrategyNames,
    Validation,
)
from flint.server.security import require

router = APIRouter(tags=["strategies"])
READ = [Depends(require("read"))]
RESEARCH = [Depends(require("research"))]
Name = Annotated[str, Path(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]


@router.get("/strategies", dependencies=READ)
def list_strategies() -> StrategyList:
    """The registered strategies with their parameter schemas."""
    return StrategyList(strategies=queries.catalogue())


@router.get("/strategies/{name}", dependencies=READ, responses={404: {"model": Error}})
def get_strategy(name: Annotated[str, Path(max_length=200)]) -> StrategyInfo:
    """One registered strategy."""
    for info in queries.catalogue():
        if info.name == name:
            return info
    raise HTTPException(404, f"no registered strategy '{name}'")


def _folder(request: Request) -> pathlib.Path:
    folder: pathlib.Path = request.app.state.settings.strategies
    return folder


@router.post("/user-strategies/validate", dependencies=RESEARCH)
def validate(body: CodeBody, request: Request) -> Validation:
    """Load the code in a sandboxed child: valid, or why not."""
    try:
        found = user.describe(body.code, "candidate", trust=request.app.state.settings.trust)
    except click.ClickException as exc:
        return Validation(valid=False, error=exc.format_message())
    return Validation(valid=True, **found)


@router.post("/user-strategies", dependencies=RESEARCH, responses={400: {"model": Error}})
def save(body: UserStrategyBody, request: Request) -> Saved:
    """Validate the code in the sandbox, then save it as ``user:NAME``."""
    found = user.save(_folder(request), body.name, body.code,
                      trust=request.app.state.settings.trust)
    return Saved(name=body.name, saved=True, **found)


@router.get("/user-strategies", dependencies=READ)
def list_user(request: Request) -> UserStrategyNames:
    """The saved user strategies."""
    return UserStrategyNames(strategies=user.names(_folder(request)))


@router.get("/user-strategies/{name}", dependencies=READ, responses={404: {"model": Error}})
def get_user(name: Name, request: Request) -> UserStrategy:
    """A saved strategy's code and (read in the sandbox) its parameters."""
    code = user.code_of(_folder(request), name)
    found = user.describe(code, name, trust=request.app.state.settings.trust)
    return UserStrategy(name=name, code=code, **found)


@router.delete("/user-strategies/{name}", dependencies=RESEARCH,
               responses={404: {"model": Error}})
def delete_user(name: Name, request: Request) -> Deleted:
    """Remove a saved strategy."""
    user.delete(_folder(request), name)
    return Deleted(deleted=True)
