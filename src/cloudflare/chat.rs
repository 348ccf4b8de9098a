//! `POST /api/chat`: the head-start route (PROTOCOL.md §3-§5.8). Bad input
//! is refused with a 4xx JSON error before any model call; otherwise the
//! response opens as soon as the session exists and streams the turn.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use worker::{Context, Env, Request, Response, Result};

use super::config::{self, DEV_SECRET_KEY};
use super::self_fetch::SelfFetch;
use super::session::nanoid;
use crate::io::emitted_stream;
use crate::platform::PlatformClient;
use crate::protocol::convert::{convert_to_model_messages, ConvertOptions};
use crate::protocol::input::{validate_chat_id, HeadStartRequest};
use crate::protocol::session::{SessionOptions, CREATE_BODY_MAX};
use crate::protocol::sse::write_data;
use crate::provider::config::ModelSettings;
use crate::turn::{head_start as run_turn, Frame, HeadStartConfig};
use crate::web::fetch::{WebClock, WebFetch};

pub const HEAD_START_PATH: &str = "/api/chat";

/// The agent's task id when `HEADSTART_AGENT_ID` is not set.
pub const DEFAULT_AGENT_ID: &str = "headstart-agent";

fn json_error(status: u16, message: &str, code: &str) -> Result<Response> {
    Ok(Response::from_json(&serde_json::json!({ "error": message, "code": code }))?.with_status(status))
}

pub async fn head_start(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let max: usize = config::var(&env, "HEADSTART_MAX_BODY_BYTES").and_then(|v| v.parse().ok()).unwrap_or(CREATE_BODY_MAX);
    let declared = req.headers().get("content-length")?.and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return json_error(413, &format!("request body is over {max} bytes"), "body_too_large");
    }
    let body = req.bytes().await?;
    if body.len() > max {
        return json_error(413, &format!("request body is over {max} bytes"), "body_too_large");
    }
    let request: HeadStartRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) if e.is_syntax() || e.is_eof() => return json_error(400, &format!("request body is not JSON: {e}"), "invalid_json"),
        Err(e) => return json_error(400, &format!("invalid head-start request: {e}"), "invalid_request"),
    };
    if let Err(e) = validate_chat_id(&request.chat_id) {
        return json_error(400, &e.to_string(), "invalid_chat_id");
    }
    let model_messages = match convert_to_model_messages(&request.head_start_messages, &ConvertOptions::default()) {
        Ok(m) => m,
        Err(e) => return json_error(400, &e.to_string(), "invalid_messages"),
    };
    let model = match ModelSettings::from_vars(|k| config::var(&env, k)) {
        Ok(m) => m,
        Err(e) => return json_error(500, &format!("model configuration: {e}"), "misconfigured"),
    };
    let remote = config::var(&env, "TRIGGER_API_URL");
    let origin = req.url()?.origin().ascii_serialization();
    let secret = config::var(&env, "TRIGGER_SECRET_KEY").unwrap_or_else(|| DEV_SECRET_KEY.into());
    let turn_config = HeadStartConfig {
        platform: PlatformClient::new(remote.as_deref().unwrap_or(&origin), &secret),
        session: SessionOptions {
            agent_id: config::var(&env, "HEADSTART_AGENT_ID").unwrap_or_else(|| DEFAULT_AGENT_ID.into()),
            idle_timeout_secs: config::var(&env, "HEADSTART_IDLE_TIMEOUT_SECS").and_then(|v| v.parse().ok()),
            ..SessionOptions::default()
        },
        idle_timeout_ms: config::var(&env, "HEADSTART_IDLE_TIMEOUT_SECS").and_then(|v| v.parse::<u32>().ok()).unwrap_or(60) * 1000,
        tee_linger_ms: config::var(&env, "HEADSTART_TEE_LINGER_MS").and_then(|v| v.parse().ok()).unwrap_or(0),
        model,
    };
    let message_id = message_id();
    let env2 = env.clone();
    let frames = emitted_stream(move |out| async move {
        let timing = match remote {
            Some(_) => run_turn(&WebFetch, &WebFetch, &WebClock, &turn_config, &request, model_messages, message_id, &|| nanoid(7), &out).await,
            None => {
                let platform = SelfFetch { env: env2 };
                run_turn(&platform, &WebFetch, &WebClock, &turn_config, &request, model_messages, message_id, &|| nanoid(7), &out).await
            }
        };
        worker::console_log!("{}", serde_json::json!({ "event": "headstart.turn", "chatId": request.chat_id, "decision": timing.decision,
            "sessionCreatedMs": timing.session_created, "firstChunkMs": timing.first_chunk, "stepEndMs": timing.step_end,
            "handoverMs": timing.handover, "firstAgentChunkMs": timing.first_agent_chunk, "turnCompleteMs": timing.turn_complete }));
    });
    let mut frames: Pin<Box<dyn Stream<Item = Frame>>> = Box::pin(frames);
    match frames.next().await {
        Some(Frame::Open { access_token, pending_version }) => {
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
            h.set("access-control-expose-headers", "X-Trigger-Chat-Access-Token, X-Trigger-Chat-Pending-Version")?;
            Ok(response)
        }
        Some(Frame::Failed { status, message }) => {
            let status = if (400..500).contains(&status) { status } else { 502 };
            json_error(status, &format!("the session could not be created: {message}"), "session_failed")
        }
        _ => json_error(500, "the turn ended before it started", "internal"),
    }
}

fn message_id() -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..16).map(|_| ALNUM[(js_sys::Math::random() * 62.0) as usize % 62] as char).collect()
}
