//! The session routes of the transport (PROTOCOL.md §8.2): `start` creates
//! the session with a preload run (`startSession`), `token` gives a fresh
//! session token (the `accessToken` callback). Both run only for an
//! authenticated caller ([`super::RouteContext`]); which chats a caller may
//! reach is not checked yet: any caller may name any chat.

use super::request::{client_data, parse_chat_body, RequestError};
use super::{RequestBody, RouteContext, RouteRequest, RouteResponse, Routes, Runtime, TokenSource};
use crate::io::{Clock, Fetch};
use crate::protocol::session::preload_request;

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
        _ctx: RouteContext,
    ) -> Result<RouteResponse, RequestError> {
        let (chat_id, body) = parse_chat_body(&self.read_body(req).await?)?;
        let create = preload_request(&chat_id, client_data(&body), &self.inner.config.turn.session);
        let session = self.create(&chat_id, &create).await?;
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
        _ctx: RouteContext,
    ) -> Result<RouteResponse, RequestError> {
        let (chat_id, _) = parse_chat_body(&self.read_body(req).await?)?;
        let token = match &self.inner.config.token {
            TokenSource::Mint { signing_key, env_id } => {
                crate::selfhost::auth::mint_session_token(signing_key, env_id, &chat_id, self.inner.runtime.now_secs())
            }
            TokenSource::Repost => {
                let create = preload_request(&chat_id, None, &self.inner.config.turn.session);
                self.create(&chat_id, &create).await?.public_access_token
            }
        };
        Ok(RouteResponse::json(200, &serde_json::json!({ "publicAccessToken": token })))
    }

    async fn create(
        &self,
        chat_id: &str,
        create: &crate::protocol::session::CreateSessionRequest,
    ) -> Result<crate::protocol::session::CreatedSession, RequestError> {
        let inner = &self.inner;
        crate::turn::create(&inner.platform, &inner.clock, &inner.config.turn.platform, create).await.map_err(|e| {
            self.log(&format!("headstart: the session of {chat_id} could not be created: {e}"));
            RequestError::from_platform(&e)
        })
    }
}
