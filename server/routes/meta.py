"""Service health and the caller's own identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from server.auth import Principal
from server.security import current_principal

router = APIRouter(prefix="/v1", tags=["meta"])


class Health(BaseModel):
    status: str


class Me(BaseModel):
    key_id: str
    role: str
    subject: str


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(status="ok")


@router.get("/me", response_model=Me)
def me(principal: Annotated[Principal, Depends(current_principal)]) -> Me:
    return Me(key_id=principal.key_id, role=principal.role.value, subject=principal.subject)
