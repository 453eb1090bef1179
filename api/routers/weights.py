"""``/v1/weight-profiles``: versioned weight profiles, previews, evaluation and fitting from feedback.

Reading profiles is open to every role (match requests name them); publishing, previewing, evaluating and
fitting need the analyst role. Versions are immutable: publishing appends one, audited with the caller's
role and key id, the time and the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.status import HTTP_201_CREATED

from api.auth import Principal
from api.deps import AnalystKey, PortalKey
from api.problems import NOT_FOUND, TOO_LARGE, problem_openapi_response
from api.schemas_tuning import EvaluationOut, FitBody, PreviewBody, ProfileHistory, ProfilePage, PublishBody
from matching.service import ChainmatchService
from matching.tuning.preview import PreviewReport
from matching.tuning.profiles import ProfileVersion
from matching.tuning.service import FitDraft, TuningService

router = APIRouter(prefix="/v1/weight-profiles", tags=["weights"])

NamePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$", examples=["default"])]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: problem_openapi_response("The profile moved on (expected_version) or the id is taken")
}


def get_tuning(request: Request) -> TuningService:
    """One tuning service per app, over the app's matching service."""
    tuning: TuningService | None = getattr(request.app.state, "tuning", None)
    if tuning is None:
        service: ChainmatchService = request.app.state.service
        tuning = request.app.state.tuning = TuningService(service)
    return tuning


TuningDep = Annotated[TuningService, Depends(get_tuning)]


def author(key: Principal) -> str:
    """Who acted: the key's role and non-secret key id (keys carry no other name)."""
    return f"{key.role.name}:{key.key_id}"


@router.get("", response_model=ProfilePage, summary="List weight profiles (latest versions)")
def list_profiles(tuning: TuningDep, _key: PortalKey) -> ProfilePage:
    """中文：列出所有权重方案（各取最新版本）。"""
    return ProfilePage(items=tuning.profiles.list_latest())


@router.get("/{name}", response_model=ProfileVersion, summary="A profile version", responses=NOT_FOUND)
def get_profile(
    name: NamePath,
    tuning: TuningDep,
    _key: PortalKey,
    version: Annotated[int | None, Query(ge=1, description="Default: the latest version")] = None,
) -> ProfileVersion:
    """中文：获取权重方案的某一版本（默认最新）。"""
    return tuning.profiles.get(name, version)


@router.get("/{name}/history", response_model=ProfileHistory, summary="Audit trail", responses=NOT_FOUND)
def history(name: NamePath, tuning: TuningDep, _key: PortalKey) -> ProfileHistory:
    """Every version oldest first, each with who published it, when and why.

    中文：权重方案的全部版本及审计记录（谁、何时、为何）。"""
    return ProfileHistory(name=name, items=tuning.profiles.history(name))


@router.post(
    "/{name}/versions",
    response_model=ProfileVersion,
    status_code=HTTP_201_CREATED,
    summary="Publish a new version (or create the profile)",
    responses={**CONFLICT, **TOO_LARGE},
)
def publish(
    name: NamePath, body: PublishBody, response: Response, tuning: TuningDep, key: AnalystKey
) -> ProfileVersion:
    """Appends version N+1 (a new profile starts at 1; `default` has the built-in version 1). Existing
    versions never change. Publishing a fit draft = posting its weights here.

    中文：发布新版本（不可修改旧版本），记录审计信息。"""
    created = tuning.publish(
        name,
        body.weights,
        body.filters,
        reason=body.reason,
        author=author(key),
        expected_version=body.expected_version,
    )
    response.headers["Location"] = f"/v1/weight-profiles/{name}?version={created.version}"
    return created


@router.post("/{name}/preview", response_model=PreviewReport, summary="Preview proposed weights", responses=NOT_FOUND)
def preview(name: NamePath, body: PreviewBody, tuning: TuningDep, _key: AnalystKey) -> PreviewReport:
    """Re-ranks a sample of needs (or all) under the latest version and the proposed weights: Kendall τ,
    top-k overlap, the pairs that move most with both explanations, and the offline metric deltas.

    中文：预览新权重对排序的影响（Kendall τ、前k重合度、变动最大的配对及离线指标变化）。"""
    return tuning.preview(
        name,
        body.weights,
        body.filters,
        k=body.k,
        sample=body.sample,
        seed=body.seed,
        moves=body.moves,
        eval_set=body.eval_set,
    )


@router.get("/{name}/evaluate", response_model=EvaluationOut, summary="Offline metrics", responses=NOT_FOUND)
def evaluate(
    name: NamePath,
    tuning: TuningDep,
    _key: AnalystKey,
    version: Annotated[int | None, Query(ge=1)] = None,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    sets: Annotated[str, Query(description="Comma-separated: feedback, dev, holdout, blind2")] = "feedback,dev",
) -> EvaluationOut:
    """precision@k, MRR and NDCG@k of a version against feedback labels and judged evaluation sets.

    中文：按反馈标签和评测集计算某版本的 P@k、MRR、NDCG@k。"""
    found = tuning.profiles.get(name, version)
    spec = f"{name}@{found.version}"
    wanted = [s.strip() for s in sets.split(",") if s.strip()]
    return EvaluationOut(profile=name, version=found.version, items=tuning.evaluate(spec, k=k, sets=wanted))


@router.post(
    "/{name}/fit",
    response_model=FitDraft,
    summary="Learn weights from feedback (a draft)",
    responses={**NOT_FOUND, 422: problem_openapi_response("Too little feedback, or invalid input")},
)
def fit(name: NamePath, body: FitBody, tuning: TuningDep, _key: AnalystKey) -> FitDraft:
    """Fits non-negative, normalised weights on the feedback (cross-validated by buyer). Returns a draft
    with before/after metrics; nothing is stored until an analyst publishes it. 422 when there is too
    little feedback, naming what is missing.

    中文：根据反馈学习权重（交叉验证），返回草稿及前后指标；反馈不足时拒绝。"""
    return tuning.fit(name, k=body.k, eval_set=body.eval_set)
