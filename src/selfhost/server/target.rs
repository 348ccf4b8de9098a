//! Which session object serves a platform request: the worker entry on
//! Cloudflare and the in-memory simulation both route with this. One
//! object per chat, named by the chat id (the session's externalId); a
//! `session_…` id is first resolved through its alias object (named by the
//! id, [`super::ALIAS_PATH`]), which the chat's object registered at create.

use super::{ServerRequest, ServerResponse};
use crate::protocol::session::CREATE_BODY_MAX;
use crate::selfhost::http::{self, error_body, ErrorResponse};
use crate::selfhost::route::{Route, SessionKey};

/// Where a platform request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The object named by this chat id.
    Chat(String),
    /// A `session_…` id: ask the object named by it (`GET` [`super::ALIAS_PATH`])
    /// for the chat id, then go to [`Target::Chat`] of the answer (404
    /// `Session not found` when it has none).
    Alias(String),
}

/// The session key a route names (`None` for create and preflight).
pub fn route_key(route: &Route) -> Option<&SessionKey> {
    match route {
        Route::InitStream { key, .. }
        | Route::Append { key, .. }
        | Route::Read { key, .. }
        | Route::ReadRecords { key, .. }
        | Route::S2Append { key, .. } => Some(key),
        Route::ChatMessages { chat_id } => Some(chat_id),
        Route::RetrieveSession { key } | Route::CloseSession { key } => Some(key),
        Route::CreateSession | Route::Preflight => None,
    }
}

/// The object of a parsed route. `POST /api/v1/sessions` is named by its
/// body's `externalId`, so its (small) body is needed: 413 when its
/// `Content-Length` is missing or over 32 KiB, 422 without an externalId.
/// A preflight has no object (the entry answers it: [`preflight`]).
pub fn target(route: &Route, content_length: Option<&str>, body: &[u8]) -> Result<Target, ErrorResponse> {
    match route_key(route) {
        Some(SessionKey::External(id)) => Ok(Target::Chat(id.clone())),
        Some(SessionKey::Friendly(id)) => Ok(Target::Alias(id.clone())),
        None if *route == Route::CreateSession => {
            if !http::content_length_ok(content_length, CREATE_BODY_MAX) || body.len() > CREATE_BODY_MAX {
                return Err(http::too_large());
            }
            create_target(body).map(Target::Chat)
        }
        None => Err(error_body(404, "Not found", None)),
    }
}

/// The chat id a create request names (its trimmed `externalId`).
pub fn create_target(body: &[u8]) -> Result<String, ErrorResponse> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("externalId").and_then(|e| e.as_str()).map(|s| s.trim().to_string()))
        .filter(|e| !e.is_empty())
        .ok_or_else(|| error_body(422, "externalId is required", None))
}

/// The entry's gate, before any object is named or woken: the request must
/// carry the secret key or a valid session token (signature and expiry).
/// What the credential may do with which session is the object's to decide
/// (it knows all the session's keys); this only keeps unauthenticated
/// traffic from starting objects. Preflights do not come here.
pub fn admit(authorization: Option<&str>, settings: &super::Settings, now_secs: u64) -> Result<(), ErrorResponse> {
    crate::selfhost::auth::authenticate(authorization, &settings.secret_key, &settings.signing_key, now_secs)
        .map(|_| ())
        .map_err(|e| error_body(e.status(), &e.to_string(), None))
}

/// The answer to a CORS preflight (`OPTIONS` on any platform path).
pub fn preflight(req: &ServerRequest) -> ServerResponse {
    let mut r = ServerResponse::text(204, "text/plain; charset=utf-8", String::new());
    r.headers.clear();
    for (name, value) in http::preflight_headers(req.header("origin"), req.header("access-control-request-headers")) {
        r.set_header(name, &value);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selfhost::route::parse;

    #[test]
    fn routes_name_their_object() {
        let t = |method, path, len: Option<&str>, body: &str| target(&parse(method, path).unwrap(), len, body.as_bytes());
        assert_eq!(t("POST", "/realtime/v1/sessions/chat%2F1/in/append", None, ""), Ok(Target::Chat("chat/1".into())));
        assert_eq!(t("GET", "/api/v1/sessions/session_abc", None, ""), Ok(Target::Alias("session_abc".into())));
        let body = r#"{"externalId":" c1 ","type":"chat.agent"}"#;
        let len = body.len().to_string();
        assert_eq!(t("POST", "/api/v1/sessions", Some(&len), body), Ok(Target::Chat("c1".into())));
        assert_eq!(t("POST", "/api/v1/sessions", Some(&len), r#"{"externalId":"  "}"#).unwrap_err().status, 422);
        assert_eq!(t("POST", "/api/v1/sessions", None, body).unwrap_err().status, 413);
        let s2 = format!("/s2/v1/streams/{}/records", "sessions%2Fc1%2Fout");
        assert_eq!(t("POST", &s2, None, ""), Ok(Target::Chat("c1".into())));
        assert_eq!(route_key(&Route::Preflight), None);
    }

    #[test]
    fn only_authenticated_requests_reach_an_object() {
        let settings = super::super::Settings {
            secret_key: "sk".into(),
            signing_key: b"signing".to_vec(),
            env_id: "env".into(),
            create_delay_ms: None,
            webhook_url: None,
        };
        let now = 1_780_000_000;
        assert!(admit(Some("Bearer sk"), &settings, now).is_ok());
        assert!(admit(Some("bearer sk"), &settings, now).is_ok());
        let token = crate::selfhost::auth::mint_session_token(b"signing", "env", "c1", now);
        assert!(admit(Some(&format!("Bearer {token}")), &settings, now).is_ok());
        assert_eq!(admit(None, &settings, now).unwrap_err().status, 401);
        assert_eq!(admit(Some("Bearer nope"), &settings, now).unwrap_err().status, 401);
        let forged = crate::selfhost::auth::mint_session_token(b"other", "env", "c1", now);
        assert_eq!(admit(Some(&format!("Bearer {forged}")), &settings, now).unwrap_err().status, 401);
        let expired = crate::selfhost::auth::mint_session_token(b"signing", "env", "c1", now - 7200);
        assert_eq!(admit(Some(&format!("Bearer {expired}")), &settings, now).unwrap_err().status, 401);
    }
}
