"""The sample scenarios a learner can practise, and whether their policy is published.

A learner's front end lists them to offer a choice; starting one is `POST /v1/sessions`
with the scenario's `name` and `policy_id`, which works only once an officer has published
that policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from engine.scenarios import Difficulty
from policies import DocumentError
from policies.packs import PACKS_DIR
from server.auth import Principal, Role
from server.errors import ErrorBody
from server.policy_registry import PolicyNotFoundError
from server.security import require, service_state
from server.state import ServiceState

router = APIRouter(prefix="/v1", tags=["sessions"])

AnyRole = Annotated[Principal, Depends(require(Role.officer, Role.learner, Role.auditor))]
State = Annotated[ServiceState, Depends(service_state)]


class ScenarioListing(BaseModel):
    name: str = Field(description='"pack/file.yaml": what `POST /v1/sessions` takes.')
    title: str
    persona: str = Field(description="Who the learner talks to, in one line.")
    difficulty: Difficulty
    policy_id: str = Field(description="The policy the scenario practises.")
    published_version: int | None = Field(
        description="That policy's latest published version; None until an officer publishes "
        "it (a session cannot start before)."
    )


@router.get(
    "/scenarios",
    response_model=list[ScenarioListing],
    summary="Sample scenarios to practise",
    responses={
        401: {"model": ErrorBody, "description": "No or an unknown API key."},
        403: {"model": ErrorBody, "description": "The caller's role may not do this."},
    },
)
def list_scenarios(principal: AnyRole, state: State) -> list[ScenarioListing]:
    """Every scenario of the bundled packs, in name order; one that does not load (a broken
    file in a pack) is left out rather than failing the list."""
    listings = []
    for path in sorted(PACKS_DIR.glob("*/*.yaml")):
        if path.name == "policy.yaml" or not (path.parent / "policy.yaml").is_file():
            continue
        try:
            loaded = state.live.scenarios.load(path)
        except (DocumentError, OSError):
            continue
        scenario = loaded.scenario
        listings.append(
            ScenarioListing(
                name=f"{path.parent.name}/{path.name}",
                title=scenario.title,
                persona=f"{scenario.persona.name}, {scenario.persona.role}",
                difficulty=scenario.difficulty,
                policy_id=loaded.policy_id,
                published_version=_published_version(state, loaded.policy_id),
            )
        )
    return listings


def _published_version(state: ServiceState, policy_id: str) -> int | None:
    try:
        return state.policies.latest_published(policy_id).version
    except PolicyNotFoundError:
        return None
