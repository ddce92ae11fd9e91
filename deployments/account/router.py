"""/api/v1/account: delete your account, export everything held about you."""

from __future__ import annotations

from fastapi import APIRouter

from deployments.account.repository import AccountRepository
from deployments.account.schemas import AccountExport, DeleteAccountResponse
from deployments.account.service import DELETED, AccountService, Deletion
from deployments.auth.dependencies import CurrentUser
from deployments.backends import AppBackends, Backends
from deployments.billing.lifecycle import Provider
from deployments.billing.service import billing_service
from deployments.photos.lifecycle import PhotoParts
from deployments.realtime.bus import EventBus, Events
from kit.db import Session, after_commit
from kit.deps import AppSettings, Limiter
from kit.errors import error_responses

router = APIRouter(prefix="/api/v1/account", tags=["account"])
EXPORT_WINDOW_S = 24 * 3600


@router.delete(
    "",
    response_model=DeleteAccountResponse,
    responses=error_responses(
        (403, "recent_login_required", "the session's login (OTP) is older than ACCOUNT_DELETE_LOGIN_MAX_AGE_S"),
        (503, "billing_unavailable", "the payment provider could not end the subscription; nothing was deleted"),
    ),
)
async def delete_account(
    caller: CurrentUser,
    session: Session,
    settings: AppSettings,
    events: Events,
    backends: AppBackends,
    provider: Provider,
) -> DeleteAccountResponse:
    """Delete your account (log in again first): gone from every list at once, erased after ACCOUNT_PURGE_DELAY_S."""
    deletion = await AccountService(AccountRepository(session), settings).delete(
        caller.id, caller.session_id, billing_service(session, provider)
    )
    after_commit(session, _announce, events, backends, deletion)
    return DeleteAccountResponse(erase_after=deletion.erase_after)


async def _announce(events: EventBus, backends: Backends, deletion: Deletion) -> None:
    """After commit: every socket of the account closes, each partner hears `match_removed`, and the
    shards' likes-you caches forget the account."""
    user_id = deletion.user_id
    await events.session_ended(user_id, None, DELETED)
    await events.publish(
        [
            ([user_id, partner], "match_removed", {"match_id": str(match_id)}, None)
            for match_id, partner in deletion.ended
        ]
    )
    await backends.user_shards.for_key(str(user_id)).forget.remote(str(user_id))
    for target in deletion.liked:
        await backends.user_shards.for_key(str(target)).liked_by_changed.remote(str(target), str(user_id), False)


@router.get(
    "/export",
    response_model=AccountExport,
    responses=error_responses(
        (429, "export_limit_reached", "one export per day (UTC); Retry-After says when the next is possible"),
    ),
)
async def export_account(
    caller: CurrentUser, session: Session, settings: AppSettings, limiter: Limiter, photos: PhotoParts
) -> AccountExport:
    """Everything held about you in one JSON document (photos as signed links); one per day."""
    await limiter.hit(
        "account_export",
        str(caller.id),
        1,
        EXPORT_WINDOW_S,
        code="export_limit_reached",
        message="You can export your data once a day",
    )
    return await AccountService(AccountRepository(session), settings).export(
        caller.id, photos.storage, photos.photo_url
    )
