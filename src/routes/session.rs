//! The session routes of the transport (PROTOCOL.md §8.2): `start` creates
//! the session with a preload run (`startSession`), `token` gives a fresh
//! session token (the `accessToken` callback). Both run only for an
//! authenticated caller ([`super::RouteContext`]), and only on the caller's
//! own chats: a chat belongs to the identity that created it (its owner tag,
//! [`crate::protocol::session::owner_tag`]). This deploy's own platform
//! refuses the create of someone else's chat in the same step as the reuse;
//! any other platform is asked for the session's tags first, since it may
//! not keep owners. Anonymous callers own nothing: their chats are open.

use super::request::{client_data, parse_chat_body, RequestError};
use super::{RequestBody, RouteContext, RouteRequest, RouteResponse, Routes, Runtime, TokenSource};
use crate::io::{Clock, Fetch};
use crate::protocol::session::{owner_of, owner_tag, preload_request, CreateSessionRequest};

/// The create request, for `owner` when there is one.
fn owned(create: CreateSessionRequest, owner: Option<&str>) -> CreateSessionRequest {
    match owner {
        Some(owner) => create.owned_by(owner),
        None => create,
    }
}

impl<P, M, C, R> Routes<P, M, C, R>
where
    P: Fetch + 'static,
    M: Fetch + 'static,
    C: Clock + 'static,
    R: Runtime + 'static,
{
    /// `{chatId, clientData?}` → `{publicAccessToken, runId, sessionId}`.
    pub(super) async fn start<B: RequestBody>(
        &self,
        req: RouteRequest<B>,
        ctx: RouteContext,
    ) -> Result<RouteResponse, RequestError> {
        let (chat_id, body) = parse_chat_body(&self.read_body(req).await?)?;
        let owner = ctx.owner();
        self.check_owner(&chat_id, owner, false).await?;
        let create = preload_request(&chat_id, client_data(&body), &self.inner.config.turn.session);
        let session = self.create(&chat_id, &owned(create, owner)).await?;
        let mut out = serde_json::json!({ "publicAccessToken": session.public_access_token, "runId": session.run_id,
            "sessionId": session.id });
        if session.pending_version == Some(true) {
            out["pendingVersion"] = true.into();
        }
        Ok(RouteResponse::json(200, &out))
    }

    /// `{chatId}` → `{publicAccessToken}`: minted here for this deploy's
    /// own platform, else by posting the session again (the platform's
    /// cached answer carries a fresh token).
    pub(super) async fn token<B: RequestBody>(
        &self,
        req: RouteRequest<B>,
        ctx: RouteContext,
    ) -> Result<RouteResponse, RequestError> {
        let (chat_id, _) = parse_chat_body(&self.read_body(req).await?)?;
        let owner = ctx.owner();
        let token = match &self.inner.config.token {
            TokenSource::Mint { signing_key, env_id } => {
                // Minted here, so the chat is looked up here: a token is
                // only for a chat that exists and is the caller's.
                self.check_owner(&chat_id, owner, owner.is_some()).await?;
                crate::selfhost::auth::mint_session_token(signing_key, env_id, &chat_id, self.inner.runtime.now_secs())
            }
            TokenSource::Repost => {
                self.check_owner(&chat_id, owner, false).await?;
                let create = preload_request(&chat_id, None, &self.inner.config.turn.session);
                self.create(&chat_id, &owned(create, owner)).await?.public_access_token
            }
        };
        Ok(RouteResponse::json(200, &serde_json::json!({ "publicAccessToken": token })))
    }

    /// Refuses a chat that belongs to someone else (`403 not_owner`), and,
    /// with `must_exist`, one that does not exist (`404 no_such_chat`). On
    /// this deploy's own platform a create needs no look-up (the platform
    /// checks the owner itself), so only the token route asks.
    pub(super) async fn check_owner(&self, chat_id: &str, owner: Option<&str>, must_exist: bool) -> Result<(), RequestError> {
        let Some(owner) = owner else { return Ok(()) };
        if matches!(self.inner.config.token, TokenSource::Mint { .. }) && !must_exist {
            return Ok(());
        }
        let inner = &self.inner;
        let tags = crate::turn::calls::session_tags(&inner.platform, &inner.clock, &inner.config.turn.platform, chat_id)
            .await
            .map_err(|e| {
                self.log(&format!("headstart: the session of {chat_id} could not be looked up: {e}"));
                RequestError::from_platform(&e)
            })?;
        match tags {
            None if must_exist => Err(RequestError::new(404, "no such chat", "no_such_chat")),
            None => Ok(()),
            Some(tags) => match owner_of(&tags) {
                Some(tag) if tag != owner_tag(owner) => Err(RequestError::not_owner()),
                _ => Ok(()),
            },
        }
    }

    async fn create(
        &self,
        chat_id: &str,
        create: &crate::protocol::session::CreateSessionRequest,
    ) -> Result<crate::protocol::session::CreatedSession, RequestError> {
        let inner = &self.inner;
        crate::turn::create(&inner.platform, &inner.clock, &inner.config.turn.platform, create).await.map_err(|e| {
            self.log(&format!("headstart: the session of {chat_id} could not be created: {e}"));
            if e.status == Some(403) && create.tags.as_deref().and_then(owner_of).is_some() {
                return RequestError::not_owner();
            }
            RequestError::from_platform(&e)
        })
    }
}
