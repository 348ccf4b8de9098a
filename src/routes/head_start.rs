//! The head start (`POST /api/chat`, PROTOCOL.md §3-§5.8) and its detached
//! variant: the turn of [`crate::turn::head_start`], opened as an SSE
//! response as soon as the session exists, or drained into `.out` in the
//! background while the response only says where the chat is.

use std::future::ready;
use std::pin::Pin;

use futures_util::{Stream, StreamExt};

use super::request::{check_history, parse_head_start, require_messages, ParsedHeadStart, RequestError};
use super::runtime::{message_id, nanoid};
use super::{RequestBody, RouteBody, RouteContext, RouteRequest, RouteResponse, Routes, Runtime};
use crate::io::{emitted_stream, Clock, Fetch};
use crate::protocol::input::outlives_client;
use crate::protocol::sse::write_data;
use crate::turn::{head_start as run_turn, Abandoned, Frame};

type Frames = Pin<Box<dyn Stream<Item = Frame>>>;

impl<P, M, C, R> Routes<P, M, C, R>
where
    P: Fetch + 'static,
    M: Fetch + 'static,
    C: Clock + 'static,
    R: Runtime + 'static,
{
    pub(super) async fn head_start<B: RequestBody>(
        &self,
        req: RouteRequest<B>,
        detached: bool,
        ctx: RouteContext,
    ) -> Result<RouteResponse, RequestError> {
        let sequential = self.inner.config.bench && req.header("x-headstart-sequential").is_some();
        let body = self.read_body(req).await?;
        let parsed = parse_head_start(&body, self.inner.config.max_body_bytes)?;
        require_messages(&parsed)?;
        check_history(&parsed, self.inner.config.max_history_messages)?;
        let chat_id = parsed.request.chat_id.trim().to_string();
        let outlive = outlives_client(parsed.request.metadata.as_ref());
        let owner = ctx.owner().map(str::to_string);
        self.check_owner(&chat_id, owner.as_deref(), false).await?;
        let mut frames = self.turn_frames(parsed, sequential, owner.clone());
        match frames.next().await {
            Some(Frame::Open { access_token, pending_version, session_ms, model_ms }) => {
                if detached {
                    // The turn outlives the request.
                    self.inner.runtime.spawn_background(Box::pin(frames.for_each(|_| ready(()))));
                    let mut body = serde_json::json!({ "chatId": chat_id, "publicAccessToken": access_token });
                    if pending_version {
                        body["pendingVersion"] = true.into();
                    }
                    return Ok(RouteResponse::json(200, &body));
                }
                let frames: Frames = if outlive {
                    Box::pin(Outliving { frames: Some(frames), routes: self.clone(), chat_id: chat_id.clone() })
                } else {
                    frames
                };
                let body = frames.filter_map(|frame| {
                    ready(match frame {
                        Frame::Chunk(json) => {
                            let mut text = String::with_capacity(json.len() + 8);
                            write_data(&mut text, &json);
                            Some(text.into_bytes())
                        }
                        _ => None,
                    })
                });
                let mut headers: Vec<(String, String)> = [
                    ("content-type", "text/event-stream"),
                    ("cache-control", "no-cache, no-transform"),
                    ("x-vercel-ai-ui-message-stream", "v1"),
                    ("x-accel-buffering", "no"),
                ]
                .into_iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
                headers.push(("x-trigger-chat-access-token".into(), access_token));
                if pending_version {
                    headers.push(("x-trigger-chat-pending-version".into(), "1".into()));
                }
                let mut server_timing = format!("session;desc=\"session create\";dur={session_ms:.1}");
                if let Some(model_ms) = model_ms {
                    server_timing.push_str(&format!(", model;desc=\"model first byte\";dur={model_ms:.1}"));
                }
                headers.push(("server-timing".into(), server_timing));
                Ok(RouteResponse { status: 200, headers, body: RouteBody::Sse(Box::pin(body)) })
            }
            Some(Frame::Failed { status, message }) => {
                self.log(&format!("headstart: the session of {chat_id} could not be created: {message}"));
                // The platform keeps owners: someone else's chat.
                if status == 403 && owner.is_some() {
                    return Err(RequestError::not_owner());
                }
                Err(RequestError::session_failed(Some(status)))
            }
            _ => Err(RequestError::internal("the turn ended before it started")),
        }
    }

    /// The frames of a turn, run lazily as the stream is polled; dropping
    /// the stream drops the turn.
    fn turn_frames(&self, parsed: ParsedHeadStart, sequential: bool, owner: Option<String>) -> Frames {
        let ParsedHeadStart { request, model_messages } = parsed;
        let chat_id = request.chat_id.trim().to_string();
        let message_id = message_id(&self.inner.runtime);
        // A client gone before the decision: tell the agent, in the
        // background, once the turn's future is dropped.
        let routes = self.clone();
        let on_abandon: Box<dyn FnOnce(Abandoned)> = Box::new(move |owed| {
            let inner = routes.inner.clone();
            routes.inner.runtime.spawn_background(Box::pin(async move {
                let platform = &inner.config.turn.platform;
                let result =
                    crate::turn::calls::append_in(&inner.platform, &inner.clock, platform, &chat_id, &owed.input, &owed.part_id)
                        .await;
                let result = result.map(|_| ()).map_err(|e| e.to_string());
                inner.runtime.log(&format!(
                    "headstart: the turn on {chat_id} ended before the agent was told; {} sent ({result:?})",
                    owed.input.type_name()
                ));
            }));
        });
        let inner = self.inner.clone();
        Box::pin(emitted_stream(move |out| async move {
            // The shared configuration, unless this turn needs its own.
            let own_config;
            let config = if sequential || owner.is_some() {
                let mut c = inner.config.turn.clone();
                c.sequential |= sequential;
                c.session.owner = owner;
                own_config = c;
                &own_config
            } else {
                &inner.config.turn
            };
            let record_id = || nanoid(&inner.runtime, 7);
            let timing = run_turn(
                &inner.platform,
                &inner.model,
                &inner.clock,
                config,
                &request,
                model_messages,
                message_id,
                &record_id,
                &out,
                on_abandon,
            )
            .await;
            inner.runtime.turn_done(&serde_json::json!({ "event": "headstart.turn", "chatId": request.chat_id,
                "decision": timing.decision, "sessionCreatedMs": timing.session_created, "providerTtfbMs": timing.provider_ttfb,
                "firstChunkOutMs": timing.first_chunk_out, "stepEndMs": timing.step_end, "handoverMs": timing.handover,
                "firstAgentChunkMs": timing.first_agent_chunk, "turnCompleteMs": timing.turn_complete, "steps": timing.steps,
                "startedAt": timing.started_at, "agent": timing.agent.as_ref().map(|a| a.to_json()) }));
        }))
    }
}

/// A head start's frames that, dropped before they end (the browser went
/// away), are driven to their end in the background instead of dropping
/// the turn, unless the browser asked `.in` to stop it first (the page
/// appends its stop before it drops the response): then the turn is
/// dropped as any other's, and the agent gets its skip after the stop.
struct Outliving<P, M, C, R>
where
    P: Fetch + 'static,
    M: Fetch + 'static,
    C: Clock + 'static,
    R: Runtime + 'static,
{
    frames: Option<Frames>,
    routes: Routes<P, M, C, R>,
    chat_id: String,
}

impl<P, M, C, R> Stream for Outliving<P, M, C, R>
where
    P: Fetch + 'static,
    M: Fetch + 'static,
    C: Clock + 'static,
    R: Runtime + 'static,
{
    type Item = Frame;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Frame>> {
        let Some(frames) = self.frames.as_mut() else { return std::task::Poll::Ready(None) };
        let next = frames.as_mut().poll_next(cx);
        if matches!(next, std::task::Poll::Ready(None)) {
            self.frames = None;
        }
        next
    }
}

impl<P, M, C, R> Unpin for Outliving<P, M, C, R>
where
    P: Fetch + 'static,
    M: Fetch + 'static,
    C: Clock + 'static,
    R: Runtime + 'static,
{
}

impl<P, M, C, R> Drop for Outliving<P, M, C, R>
where
    P: Fetch + 'static,
    M: Fetch + 'static,
    C: Clock + 'static,
    R: Runtime + 'static,
{
    fn drop(&mut self) {
        let Some(frames) = self.frames.take() else { return };
        let inner = self.routes.inner.clone();
        let chat_id = std::mem::take(&mut self.chat_id);
        self.routes.inner.runtime.spawn_background(Box::pin(async move {
            let platform = &inner.config.turn.platform;
            if crate::turn::calls::stop_requested(&inner.platform, &inner.clock, platform, &chat_id).await {
                drop(frames);
            } else {
                frames.for_each(|_| ready(())).await;
            }
        }));
    }
}
