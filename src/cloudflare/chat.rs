//! `POST /api/chat`: the head-start route (PROTOCOL.md §3-§5.8). Bad input
//! is refused with a 4xx JSON error before any model call; otherwise the
//! response opens as soon as the session exists and streams the turn.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use worker::{Context, Env, Request, Response, Result};

use super::config::{self, DEV_SECRET_KEY};
use super::self_fetch::PlatformFetch;
use super::session::nanoid;
use crate::io::emitted_stream;
use crate::platform::PlatformClient;
use crate::protocol::input::HeadStartRequest;
use crate::protocol::session::{SessionOptions, CREATE_BODY_MAX};
use crate::protocol::sse::write_data;
use crate::provider::config::ModelSettings;
use crate::turn::request::{
    check_declared_length, client_data, origin_allowed, parse_chat_body, parse_head_start, ParsedHeadStart, RequestError,
    EXPOSE_HEADERS,
};
use crate::turn::{head_start as run_turn, Frame, HeadStartConfig};
use crate::web::fetch::{WebClock, WebFetch};

pub const HEAD_START_PATH: &str = "/api/chat";
pub const START_PATH: &str = "/api/chat/start";
pub const TOKEN_PATH: &str = "/api/chat/token";
pub const DETACHED_PATH: &str = "/api/chat/detached";

/// The agent's task id when `HEADSTART_AGENT_ID` is not set.
pub const DEFAULT_AGENT_ID: &str = "headstart-agent";

fn json_error(status: u16, message: &str, code: &str) -> Result<Response> {
    Ok(Response::from_json(&serde_json::json!({ "error": message, "code": code }))?.with_status(status))
}

/// A validated turn, ready to run.
struct Prepared {
    request: HeadStartRequest,
    model_messages: Vec<crate::protocol::ModelMessage>,
    config: HeadStartConfig,
    remote: bool,
}

pub async fn head_start(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let origin = req.headers().get("origin")?;
    let allowed = config::var(&env, "HEADSTART_ALLOWED_ORIGINS");
    let prepared = match prepare(req, &env).await? {
        Ok(p) => p,
        Err(response) => return Ok(response),
    };
    let mut frames = turn_frames(prepared, env, Some(ctx));
    match frames.next().await {
        Some(Frame::Open { access_token, pending_version, session_ms }) => {
            let body = frames.map(|frame| {
                let mut text = String::new();
                if let Frame::Chunk(json) = frame {
                    write_data(&mut text, &json);
                }
                Ok::<Vec<u8>, worker::Error>(text.into_bytes())
            });
            let mut response = Response::from_stream(body)?;
            let h = response.headers_mut();
            h.set("content-type", "text/event-stream")?;
            h.set("cache-control", "no-cache, no-transform")?;
            h.set("x-vercel-ai-ui-message-stream", "v1")?;
            h.set("x-accel-buffering", "no")?;
            h.set("x-trigger-chat-access-token", &access_token)?;
            if pending_version {
                h.set("x-trigger-chat-pending-version", "1")?;
            }
            h.set("server-timing", &format!("session;desc=\"session create\";dur={session_ms:.1}"))?;
            // Cross-origin pages can read the token only when allowed
            // (`HEADSTART_ALLOWED_ORIGINS`: a comma-separated list, or `*`).
            if let (Some(origin), Some(allowed)) = (origin.as_deref(), allowed.as_deref()) {
                if origin_allowed(origin, allowed.split(',')) {
                    h.set("access-control-allow-origin", origin)?;
                    h.set("vary", "Origin")?;
                    h.set("access-control-expose-headers", EXPOSE_HEADERS)?;
                }
            }
            Ok(response)
        }
        other => failed(other),
    }
}

/// `POST /api/chat/detached`: the same turn, but step 1 is drained into
/// `.out` after the response (which only says where the chat is); the
/// browser picks the chat up from `.out` with its token.
pub async fn detached(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let prepared = match prepare(req, &env).await? {
        Ok(p) => p,
        Err(response) => return Ok(response),
    };
    let chat_id = prepared.request.chat_id.trim().to_string();
    let mut frames = turn_frames(prepared, env, None);
    match frames.next().await {
        Some(Frame::Open { access_token, pending_version, .. }) => {
            ctx.wait_until(async move { frames.for_each(|_| async {}).await });
            let mut body = serde_json::json!({ "chatId": chat_id, "publicAccessToken": access_token });
            if pending_version {
                body["pendingVersion"] = true.into();
            }
            Response::from_json(&body)
        }
        other => failed(other),
    }
}

fn failed(frame: Option<Frame>) -> Result<Response> {
    match frame {
        Some(Frame::Failed { status, message }) => {
            let status = if (400..500).contains(&status) { status } else { 502 };
            json_error(status, &format!("the session could not be created: {message}"), "session_failed")
        }
        _ => json_error(500, "the turn ended before it started", "internal"),
    }
}

/// The frames of a turn, run lazily as the stream is polled.
fn turn_frames(prepared: Prepared, env: Env, ctx: Option<Context>) -> Pin<Box<dyn Stream<Item = Frame>>> {
    let Prepared { request, model_messages, config: turn_config, remote } = prepared;
    let message_id = message_id();
    let chat_id = request.chat_id.trim().to_string();
    // A client gone before the decision: tell the agent, after the
    // response's future is dropped.
    let skip_env = env.clone();
    let skip_client = turn_config.platform.clone();
    let on_abandon: Box<dyn FnOnce(crate::turn::Abandoned)> = Box::new(move |owed| {
        let Some(ctx) = ctx else { return };
        ctx.wait_until(async move {
            let fetch = PlatformFetch::new(remote, skip_env);
            let result =
                crate::turn::calls::append_in(&fetch, &WebClock, &skip_client, &chat_id, &owed.input, &owed.part_id).await;
            worker::console_log!(
                "headstart: turn on {chat_id} ended before the agent was told; {} sent ({:?})",
                owed.input.type_name(),
                result.map(|_| ())
            );
        });
    });
    Box::pin(emitted_stream(move |out| async move {
        let platform = PlatformFetch::new(remote, env);
        let timing = run_turn(
            &platform,
            &WebFetch,
            &WebClock,
            &turn_config,
            &request,
            model_messages,
            message_id,
            &|| nanoid(7),
            &out,
            on_abandon,
        )
        .await;
        worker::console_log!(
            "{}",
            serde_json::json!({ "event": "headstart.turn", "chatId": request.chat_id, "decision": timing.decision,
            "sessionCreatedMs": timing.session_created, "providerTtfbMs": timing.provider_ttfb, "firstChunkOutMs": timing.first_chunk_out, "stepEndMs": timing.step_end,
            "handoverMs": timing.handover, "firstAgentChunkMs": timing.first_agent_chunk, "turnCompleteMs": timing.turn_complete })
        );
    }))
}

/// Validates the body and builds the turn's settings, or the 4xx answer.
async fn prepare(mut req: Request, env: &Env) -> Result<std::result::Result<Prepared, Response>> {
    let env = env.clone();
    let max: usize = config::var(&env, "HEADSTART_MAX_BODY_BYTES").and_then(|v| v.parse().ok()).unwrap_or(CREATE_BODY_MAX);
    let declared = req.headers().get("content-length")?;
    let parsed = match check_declared_length(declared.as_deref(), max) {
        Ok(()) => parse_head_start(&req.bytes().await?, max),
        Err(e) => Err(e),
    };
    let ParsedHeadStart { request, model_messages } = match parsed {
        Ok(p) => p,
        Err(e) => return Ok(Err(refused(&e)?)),
    };
    let model = match ModelSettings::from_vars(|k| config::var(&env, k)) {
        Ok(m) => m,
        Err(e) => return Ok(Err(json_error(500, &format!("model configuration: {e}"), "misconfigured")?)),
    };
    let (platform, remote) = platform_client(&req, &env)?;
    let turn_config = HeadStartConfig {
        platform,
        session: session_options(&env),
        idle_timeout_ms: config::var(&env, "HEADSTART_IDLE_TIMEOUT_SECS").and_then(|v| v.parse::<u32>().ok()).unwrap_or(60)
            * 1000,
        tee_linger_ms: config::var(&env, "HEADSTART_TEE_LINGER_MS").and_then(|v| v.parse().ok()),
        sequential: req.headers().get("x-headstart-sequential")?.is_some() && config::var(&env, "HEADSTART_BENCH").is_some(),
        model,
    };
    Ok(Ok(Prepared { request, model_messages, config: turn_config, remote }))
}

/// `POST /api/chat/start` `{chatId, clientData?}`: creates the session with
/// a preload run (the transport's `startSession`), §8.2. Put your own auth in
/// front of this route: it hands out a token for the chat.
pub async fn start(mut req: Request, env: Env) -> Result<Response> {
    let (chat_id, body) = match chat_body(&mut req).await? {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let client_data = client_data(&body);
    let options = session_options(&env);
    let request = crate::protocol::session::preload_request(&chat_id, client_data, &options);
    let (client, remote) = platform_client(&req, &env)?;
    let created = crate::turn::create(&PlatformFetch::new(remote, env), &WebClock, &client, &request).await;
    match created {
        Ok(s) => {
            let mut out = serde_json::json!({ "publicAccessToken": s.public_access_token, "runId": s.run_id, "sessionId": s.id });
            if s.pending_version == Some(true) {
                out["pendingVersion"] = true.into();
            }
            Response::from_json(&out)
        }
        Err(e) => failed(Some(Frame::Failed { status: e.status.unwrap_or(502), message: e.message })),
    }
}

/// `POST /api/chat/token` `{chatId}`: a fresh session token (the
/// transport's `accessToken` callback). On the self-hosted platform it is
/// minted here; against another platform the session is re-posted, whose
/// cached answer carries a fresh token. Put your own auth in front.
pub async fn token(mut req: Request, env: Env) -> Result<Response> {
    let (chat_id, _) = match chat_body(&mut req).await? {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let (client, remote) = platform_client(&req, &env)?;
    if !remote {
        let p = config::Platform::from_env(&env);
        let now = (js_sys::Date::now() / 1000.0) as u64;
        let token = crate::selfhost::auth::mint_session_token(&p.signing_key, &p.env_id, &chat_id, now);
        return Response::from_json(&serde_json::json!({ "publicAccessToken": token }));
    }
    let request = crate::protocol::session::preload_request(&chat_id, None, &session_options(&env));
    match crate::turn::create(&WebFetch, &WebClock, &client, &request).await {
        Ok(s) => Response::from_json(&serde_json::json!({ "publicAccessToken": s.public_access_token })),
        Err(e) => failed(Some(Frame::Failed { status: e.status.unwrap_or(502), message: e.message })),
    }
}

/// `{chatId, ...}` with a valid chat id, or the 400.
async fn chat_body(req: &mut Request) -> Result<std::result::Result<(String, serde_json::Value), Response>> {
    match parse_chat_body(&req.bytes().await?) {
        Ok(v) => Ok(Ok(v)),
        Err(e) => Ok(Err(refused(&e)?)),
    }
}

fn refused(e: &RequestError) -> Result<Response> {
    json_error(e.status, &e.message, e.code)
}

fn session_options(env: &Env) -> SessionOptions {
    SessionOptions {
        agent_id: config::var(env, "HEADSTART_AGENT_ID").unwrap_or_else(|| DEFAULT_AGENT_ID.into()),
        idle_timeout_secs: config::var(env, "HEADSTART_IDLE_TIMEOUT_SECS").and_then(|v| v.parse().ok()),
        ..SessionOptions::default()
    }
}

/// The platform to talk to: `TRIGGER_API_URL`, else this worker itself.
fn platform_client(req: &Request, env: &Env) -> Result<(PlatformClient, bool)> {
    let remote = config::var(env, "TRIGGER_API_URL");
    let origin = req.url()?.origin().ascii_serialization();
    let secret = config::var(env, "TRIGGER_SECRET_KEY").unwrap_or_else(|| DEV_SECRET_KEY.into());
    Ok((PlatformClient::new(remote.as_deref().unwrap_or(&origin), &secret), remote.is_some()))
}

fn message_id() -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..16).map(|_| ALNUM[(js_sys::Math::random() * 62.0) as usize % 62] as char).collect()
}
