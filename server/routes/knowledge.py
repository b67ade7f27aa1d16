"""Knowledge bases over HTTP: an officer uploads approved documents; everyone can search.

An upload is written to a temporary folder and ingested from there exactly as
`proctor kb ingest` ingests a folder, so a document uploaded twice unchanged is not embedded
again and the knowledge base's digest names its content either way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from pydantic import BaseModel, Field

from knowledge_base import KnowledgeBase, KnowledgeBaseError, Passage, open_knowledge_base
from server.auth import Principal, Role
from server.errors import ApiError, ErrorBody
from server.security import require, service_state
from server.state import ServiceState
from server.uploads import save_upload

router = APIRouter(prefix="/v1/knowledge-bases", tags=["knowledge bases"])

AnyRole = Annotated[Principal, Depends(require(Role.officer, Role.learner, Role.auditor))]
Officer = Annotated[Principal, Depends(require(Role.officer))]
State = Annotated[ServiceState, Depends(service_state)]
Name = Annotated[
    str,
    Path(
        description="3-63 lower-case letters, digits and '-', e.g. `velmora-label`.",
        pattern="^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
    ),
]
DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".csv")


class SkippedDocument(BaseModel):
    document: str
    reason: str


class IngestResult(BaseModel):
    """What one upload changed in the knowledge base, and its digest afterwards."""

    knowledge_base: str
    documents_added: int
    documents_replaced: int
    documents_unchanged: int
    chunks_added: int
    chunks_removed: int
    skipped: list[SkippedDocument]
    digest: str = Field(description="SHA-256 naming the knowledge base's exact content.")


class KnowledgeBaseInfo(BaseModel):
    name: str
    passages: int
    digest: str


class SearchResult(BaseModel):
    knowledge_base: str
    query: str
    passages: list[Passage]


_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "No or an unknown API key."},
    403: {"model": ErrorBody, "description": "The caller's role may not do this."},
}
_NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No knowledge base by that name."}
}


def _open(state: ServiceState, name: str) -> KnowledgeBase:
    try:
        return open_knowledge_base(name, state.config.knowledge_root)
    except KnowledgeBaseError as error:
        raise ApiError(422, "invalid_request", str(error)) from None


def _existing(state: ServiceState, name: str) -> KnowledgeBase:
    knowledge = _open(state, name)
    if len(knowledge) == 0:
        raise ApiError(404, "not_found", f"knowledge base {name!r} has no documents")
    return knowledge


def _document_name(upload: UploadFile) -> str:
    """The upload's file name, if it is a plain name of a supported kind."""
    name = (upload.filename or "").strip()
    if not name or "/" in name or "\\" in name or name.startswith(".") or len(name) > 200:
        raise ApiError(422, "invalid_request", f"{name!r} is not a plain file name")
    if not name.lower().endswith(DOCUMENT_SUFFIXES):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"{name}: upload Markdown, text, HTML, PDF or CSV ({', '.join(DOCUMENT_SUFFIXES)})",
        )
    return name


@router.post(
    "/{name}/documents",
    response_model=IngestResult,
    summary="Upload documents into a knowledge base",
    responses={
        **_ERRORS,
        413: {"model": ErrorBody, "description": "A file exceeds the upload limit."},
        415: {"model": ErrorBody, "description": "A file is not of a supported kind."},
    },
)
def upload_documents(
    name: Name,
    files: Annotated[list[UploadFile], File(description="One or more documents.")],
    principal: Officer,
    state: State,
) -> IngestResult:
    """Ingest the uploaded files (creating the knowledge base on first upload). A document
    with the same file name as an earlier one replaces it; the others are kept."""
    if not files:
        raise ApiError(422, "invalid_request", "upload at least one file")
    names = [_document_name(upload) for upload in files]
    if len(set(names)) != len(names):
        raise ApiError(422, "invalid_request", "two uploaded files have the same name")
    knowledge = _open(state, name)
    limit = state.config.limits.max_upload_bytes
    with tempfile.TemporaryDirectory(prefix="proctor-upload-") as folder:
        for upload, document in zip(files, names, strict=True):
            save_upload(upload, FilePath(folder) / document, limit)
        try:
            report = knowledge.ingest(FilePath(folder))
        except KnowledgeBaseError as error:
            raise ApiError(422, "invalid_request", str(error)) from None
    return IngestResult(
        knowledge_base=name,
        documents_added=report.documents_added,
        documents_replaced=report.documents_replaced,
        documents_unchanged=report.documents_unchanged,
        chunks_added=report.chunks_added,
        chunks_removed=report.chunks_removed,
        skipped=[
            SkippedDocument(document=item.path, reason=item.reason) for item in report.skipped
        ],
        digest=report.digest,
    )


@router.get(
    "/{name}",
    response_model=KnowledgeBaseInfo,
    summary="A knowledge base's size and digest",
    responses={**_ERRORS, **_NOT_FOUND},
)
def describe(name: Name, principal: AnyRole, state: State) -> KnowledgeBaseInfo:
    knowledge = _existing(state, name)
    return KnowledgeBaseInfo(name=name, passages=len(knowledge), digest=knowledge.digest)


@router.get(
    "/{name}/search",
    response_model=SearchResult,
    summary="Search a knowledge base",
    responses={**_ERRORS, **_NOT_FOUND},
)
def search(
    name: Name,
    principal: AnyRole,
    state: State,
    q: Annotated[str, Query(min_length=1, max_length=2000, pattern=r"\S")],
    k: Annotated[int, Query(ge=1, le=20)] = 3,
) -> SearchResult:
    """The `k` passages most similar to `q`, best first, each with its provenance."""
    knowledge = _existing(state, name)
    try:
        passages = knowledge.search(q, k)
    except KnowledgeBaseError as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    return SearchResult(knowledge_base=name, query=q, passages=passages)
