//! `SessionClient`: the platform side of a head start, for servers that run
//! step 1 with their own model code (the AI SDK's `streamText`, say) and
//! want the rest done as `createHandler` does it (PROTOCOL.md §5.2-§5.8):
//!
//! | method | call |
//! |---|---|
//! | `openSession(body)` | `POST /api/v1/sessions`, agent run in `handover-prepare` (§5.2) |
//! | `appendOut(chatId, chunks)` | `PUT …/out` then S2 appends: step 1's UI chunks on `.out` (§5.3-§5.4) |
//! | `handOver(chatId, step)` | the `handover` record on `.in`, reshaped for tool calls (§5.5-§5.6) |
//! | `skip(chatId)` | `handover-skip` on `.in` |
//! | `splice(chatId, {afterSeq})` | `.out` from `afterSeq`: the agent's chunks, then `trigger:turn-complete` and `trigger:session-state`, as an SSE body (§5.7) |
//!
//! Each call retries as the SDK does and rejects with an `Error` carrying
//! `status` (when the platform answered) and `code`. The ordering rules stay
//! the caller's: open the session first, write step 1 to `.out` *before*
//! the handover, splice after the last seq `appendOut` returned.

use std::rc::Rc;

use js_sys::{Promise, Reflect};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{from_js, nanoid, options, to_js};
use crate::io::emitted_stream;
use crate::platform::{PlatformClient, PlatformError, PlatformErrorKind, Splice};
use crate::protocol::chunk::UiChunk;
use crate::protocol::handover::reshape_for_handover;
use crate::protocol::input::{validate_chat_id, ChatInput, Handover};
use crate::protocol::json::Object;
use crate::protocol::session::{handover_prepare_request, SessionOptions, CREATE_BODY_MAX};
use crate::protocol::ModelMessage;
use crate::routes::request::{parse_head_start, RequestError};
use crate::turn::calls::{self, WriteOutError};
use crate::web::fetch::{WebClock, WebFetch};

/// How long `splice` waits with nothing from the agent before it ends the
/// stream with an `error` chunk (the head start's default idle limit).
const SPLICE_IDLE_MS: u32 = 60_000;

/// A platform and how its sessions are opened.
#[wasm_bindgen]
pub struct SessionClient {
    platform: Rc<PlatformClient>,
    session: Rc<SessionOptions>,
}

#[wasm_bindgen]
impl SessionClient {
    /// Checks the options (throws a `TypeError` naming the bad option).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<SessionClient, JsValue> {
        let (platform, session) = options::parse_session(&options)?;
        Ok(SessionClient { platform: Rc::new(platform), session: Rc::new(session) })
    }

    /// Opens the chat's session with an agent run waiting for the handover.
    /// `body` is the browser's head-start body (`{chatId, headStartMessages,
    /// metadata?, …}`); all of it goes into the run's payload.
    #[wasm_bindgen(js_name = openSession)]
    pub fn open_session(&self, body: JsValue) -> Promise {
        let (platform, session) = (self.platform.clone(), self.session.clone());
        future_to_promise(async move {
            let text: String = js_sys::JSON::stringify(&body)
                .map_err(|_| refused(&RequestError::new(400, "the body is not JSON", "invalid_json")))?
                .into();
            let parsed = parse_head_start(text.as_bytes(), CREATE_BODY_MAX).map_err(|e| refused(&e))?;
            let create = handover_prepare_request(&parsed.request, &session);
            let s = calls::create(&WebFetch, &WebClock, &platform, &create).await.map_err(|e| platform_error(&e))?;
            let mut out = json!({ "publicAccessToken": s.public_access_token, "runId": s.run_id, "sessionId": s.id, "isCached": s.is_cached });
            if s.pending_version == Some(true) {
                out["pendingVersion"] = true.into();
            }
            to_js(&out)
        })
    }

    /// Writes UI message chunks to `.out`, in order, and resolves with
    /// `{lastSeq}`: the seq of the last one (`null` for none), to splice
    /// after. Trigger pseudo-chunks (`trigger:*`) are not written.
    #[wasm_bindgen(js_name = appendOut)]
    pub fn append_out(&self, chat_id: String, chunks: JsValue) -> Promise {
        let platform = self.platform.clone();
        future_to_promise(async move {
            let chat_id = chat_id_of(&chat_id)?;
            let chunks: Vec<UiChunk> = from_js(&chunks, "UI message chunks")?;
            let records: Vec<(String, String)> =
                chunks.iter().filter(|c| !c.is_trigger_control()).map(|c| (c.to_json(), nanoid(7))).collect();
            let last = calls::write_out(&WebFetch, &WebClock, &platform, &chat_id, &records).await.map_err(|e| match e {
                WriteOutError::Chunk(e) => coded_error(&e.to_string(), Some(413), "chunk_too_large"),
                WriteOutError::Platform(e) => platform_error(&e),
            })?;
            to_js(&json!({ "lastSeq": last }))
        })
    }

    /// Hands the turn to the agent: `step` is `{messageId, responseMessages,
    /// finishReason}` (the AI SDK's `(await result.response).messages` and
    /// `await result.finishReason`). `tool-calls` hands the calls over as an
    /// approved round for the agent to run; anything else is final.
    /// Resolves with `{seq}` of the `.in` record.
    #[wasm_bindgen(js_name = handOver)]
    pub fn hand_over(&self, chat_id: String, step: JsValue) -> Promise {
        let platform = self.platform.clone();
        future_to_promise(async move {
            let chat_id = chat_id_of(&chat_id)?;
            let step: Value = from_js(&step, "step")?;
            let field = |name: &str| step.get(name).filter(|v| !v.is_null());
            let message_id = match field("messageId") {
                Some(Value::String(id)) if !id.is_empty() => id.clone(),
                _ => return Err(coded_error("handOver: `messageId` (step 1's message id) is required", None, "invalid_request")),
            };
            let finish = match field("finishReason") {
                Some(Value::String(reason)) => reason.clone(),
                _ => return Err(coded_error("handOver: `finishReason` is required", None, "invalid_request")),
            };
            let messages: Vec<ModelMessage> = match field("responseMessages") {
                Some(v) => serde_json::from_value(v.clone())
                    .map_err(|e| coded_error(&format!("handOver: invalid `responseMessages`: {e}"), None, "invalid_request"))?,
                None => return Err(coded_error("handOver: `responseMessages` is required", None, "invalid_request")),
            };
            let wants_tools = finish == "tool-calls";
            let input = ChatInput::Handover(Handover {
                partial_assistant_message: if wants_tools { reshape_for_handover(&messages) } else { messages },
                message_id: Some(message_id),
                is_final: !wants_tools,
                extra: Object::new(),
            });
            append(&platform, &chat_id, &input).await
        })
    }

    /// Tells the agent step 1 will not come (it exits without a turn).
    pub fn skip(&self, chat_id: String) -> Promise {
        let platform = self.platform.clone();
        future_to_promise(async move {
            let chat_id = chat_id_of(&chat_id)?;
            append(&platform, &chat_id, &ChatInput::handover_skip()).await
        })
    }

    /// The agent's side of the turn as an SSE body: its chunks from `.out`
    /// after `options.afterSeq`, then `trigger:turn-complete` (when its
    /// turn-complete arrives) and `trigger:session-state`. Cancelling the
    /// stream ends the subscription.
    pub fn splice(&self, chat_id: String, options: JsValue) -> Result<web_sys::ReadableStream, JsValue> {
        let chat_id = chat_id_of(&chat_id)?;
        let after = if options.is_object() { Reflect::get(&options, &"afterSeq".into())? } else { JsValue::UNDEFINED };
        let after_seq = match after.as_f64() {
            None if after.is_undefined() || after.is_null() => None,
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n < 9e15 => Some(n as u64),
            _ => return Err(js_sys::TypeError::new("splice: `afterSeq` must be a non-negative integer or null").into()),
        };
        let platform = self.platform.clone();
        let payloads = emitted_stream(move |emitter| async move {
            let mut splice = Splice::starting_after(after_seq);
            calls::follow_out(&WebFetch, &WebClock, &platform, &chat_id, &mut splice, SPLICE_IDLE_MS, &mut |json| {
                emitter.emit(json)
            })
            .await;
        });
        Ok(crate::web::stream::sse_stream(payloads))
    }
}

async fn append(platform: &PlatformClient, chat_id: &str, input: &ChatInput) -> Result<JsValue, JsValue> {
    let answer =
        calls::append_in(&WebFetch, &WebClock, platform, chat_id, input, &nanoid(21)).await.map_err(|e| platform_error(&e))?;
    to_js(&json!({ "seq": answer.seq }))
}

fn chat_id_of(chat_id: &str) -> Result<String, JsValue> {
    validate_chat_id(chat_id).map(str::to_string).map_err(|e| coded_error(&e.to_string(), None, "invalid_chat_id"))
}

/// An `Error` with `status` and `code` properties.
fn coded_error(message: &str, status: Option<u16>, code: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    if let Some(status) = status {
        let _ = Reflect::set(&error, &"status".into(), &status.into());
    }
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    error.into()
}

fn refused(e: &RequestError) -> JsValue {
    coded_error(&e.message, Some(e.status), e.code)
}

fn platform_error(e: &PlatformError) -> JsValue {
    let code = match e.kind {
        PlatformErrorKind::Network => "network",
        PlatformErrorKind::Status => "platform_error",
        PlatformErrorKind::SessionClosed { .. } => "session_closed",
        PlatformErrorKind::Schema => "invalid_response",
        PlatformErrorKind::MissingCredentials | PlatformErrorKind::InvalidBasin => "no_stream_credentials",
        PlatformErrorKind::StreamVersion => "stream_version",
    };
    coded_error(&e.message, e.status, code)
}
