//! One chat session's Durable Object: an adapter from `worker` requests and
//! SQLite to [`crate::selfhost::server::Server`], which holds the platform
//! routes, live SSE tails and the reference agent's runs.

use futures_util::StreamExt;
use worker::{durable_object, DurableObject, Env, Headers, Request, Response, Result, State};

use super::agent_host::DoHost;
use super::config;
use super::store::{self, SqlStore};
use crate::selfhost::http::{self, cors_headers};
use crate::selfhost::secrets::Missing;
use crate::selfhost::server::{Server, ServerBody, ServerRequest, ServerResponse, BODY_MAX};

pub use crate::selfhost::server::ALIAS_PATH;

#[durable_object(fetch)]
pub struct SessionObject {
    /// `Err` when the deploy lacks a secret: then every request is refused
    /// (the entry refuses first; this holds if an object is reached anyway).
    server: std::result::Result<Server<SqlStore, DoHost>, Missing>,
}

impl DurableObject for SessionObject {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = store::migrate(&sql) {
            worker::console_error!("session storage migration failed: {e}");
        }
        let server = config::settings(&env).map(|settings| Server::new(SqlStore { sql }, DoHost { env, settings }));
        Self { server }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let server = match &self.server {
            Ok(server) => server,
            Err(missing) => return config::missing_response(missing),
        };
        let origin = req.headers().get("origin")?;
        let request = match server_request(req).await? {
            Ok(r) => r,
            Err(too_large) => {
                let mut r = too_large;
                for (name, value) in cors_headers(origin.as_deref()) {
                    r.set_header(name, &value);
                }
                return worker_response(r);
            }
        };
        worker_response(server.handle(request).await)
    }
}

/// Reads a request, its body capped at [`BODY_MAX`] (413 beyond it).
async fn server_request(mut req: Request) -> Result<std::result::Result<ServerRequest, ServerResponse>> {
    let too_large = || Ok(Err(ServerResponse::from(http::too_large())));
    let declared = req.headers().get("content-length")?;
    if declared.as_deref().and_then(|v| v.trim().parse::<usize>().ok()).is_some_and(|n| n > BODY_MAX) {
        return too_large();
    }
    let mut body = Vec::new();
    if let Ok(mut stream) = req.stream() {
        while let Some(chunk) = stream.next().await {
            body.extend(chunk?);
            if body.len() > BODY_MAX {
                return too_large();
            }
        }
    }
    let headers = req.headers().entries().collect();
    Ok(Ok(ServerRequest { method: req.method().to_string(), url: req.url()?.to_string(), headers, body }))
}

fn worker_response(r: ServerResponse) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &r.headers {
        headers.set(name, value)?;
    }
    let builder = Response::builder().with_status(r.status).with_headers(headers);
    match r.body {
        // These statuses must not carry a body, not even an empty one.
        ServerBody::Text(_) if matches!(r.status, 101 | 204 | 205 | 304) => Ok(builder.empty()),
        ServerBody::Text(text) => Ok(builder.fixed(text.into_bytes())),
        ServerBody::Events(events) => {
            builder.from_stream(events.map(|text: String| Ok::<Vec<u8>, worker::Error>(text.into_bytes())))
        }
    }
}
