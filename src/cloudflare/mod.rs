//! The Cloudflare Worker entry point (feature `cloudflare`): the status
//! page, and the self-hosted session platform, whose routes go to the
//! chat's Durable Object ([`session::SessionObject`]).
//!
//! The entry stays trivial: it picks the object a route belongs to and
//! forwards the request; the object does the rest.

use worker::{event, Context, Env, Method, Request, Response, Result};

mod agent_host;
mod chat;
mod config;
mod rate_limit;
mod self_fetch;
mod session;
mod status;
mod store;

use crate::selfhost::http;
use crate::selfhost::route::{self, Route};
use crate::selfhost::server::target::{self, Target};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (Method::Get, "/healthz") => return status::healthz(),
        (Method::Get, "/status") => return status::page(&env),
        (method, "/healthz" | "/status") => return status::method_not_allowed(&method, &path),
        (_, path) if chat::serves(path) => return chat::handle(req, env, ctx).await,
        _ => {}
    }
    platform(req, env).await
}

/// The self-hosted platform's routes (also reached in-process by the
/// head-start handler, see `self_fetch`).
pub(crate) async fn platform(req: Request, env: Env) -> Result<Response> {
    let path = req.path();
    match route::parse(req.method().as_ref(), &path) {
        Ok(Route::Preflight) => preflight(&req),
        Ok(route) => forward(req, env, route).await,
        Err(route::RouteError::NotFound) => status::not_found(&path),
        Err(e) => {
            let e = e.response();
            let mut r = Response::ok(e.body)?.with_status(e.status);
            for (name, value) in e.headers {
                r.headers_mut().set(name, &value)?;
            }
            r.headers_mut().set("content-type", "application/json")?;
            Ok(r)
        }
    }
}

fn preflight(req: &Request) -> Result<Response> {
    let origin = req.headers().get("origin")?;
    let asked = req.headers().get("access-control-request-headers")?;
    let mut r = Response::empty()?.with_status(204);
    for (name, value) in http::preflight_headers(origin.as_deref(), asked.as_deref()) {
        r.headers_mut().set(name, &value)?;
    }
    Ok(r)
}

/// Sends a platform request to the object of its chat
/// ([`target::target`]). A session created by id is found through its
/// alias object.
async fn forward(mut req: Request, env: Env, route: Route) -> Result<Response> {
    let settings = match config::settings(&env) {
        Ok(s) => s,
        Err(missing) => return config::missing_response(&missing),
    };
    let now_secs = (js_sys::Date::now() / 1000.0) as u64;
    if let Err(e) = target::admit(req.headers().get("authorization")?.as_deref(), &settings, now_secs) {
        let mut r = Response::ok(e.body)?.with_status(e.status);
        r.headers_mut().set("content-type", "application/json")?;
        for (name, value) in http::cors_headers(req.headers().get("origin")?.as_deref()) {
            r.headers_mut().set(name, &value)?;
        }
        return Ok(r);
    }
    let ns = env.durable_object("SESSIONS")?;
    let (declared, body) = if route == Route::CreateSession {
        // POST /api/v1/sessions: the object is named by the body's
        // externalId, so the body is read here (it is small: 32 KiB).
        let declared = req.headers().get("content-length")?;
        if !http::content_length_ok(declared.as_deref(), crate::protocol::session::CREATE_BODY_MAX) {
            return json_error(413, "Request body too large");
        }
        (declared, req.bytes().await?)
    } else {
        (None, Vec::new())
    };
    let chat_id = match target::target(&route, declared.as_deref(), &body) {
        Ok(Target::Chat(id)) => id,
        Ok(Target::Alias(id)) => {
            let stub = ns.id_from_name(&id)?.get_stub()?;
            let mut answer = stub.fetch_with_str(&format!("https://alias{}", session::ALIAS_PATH)).await?;
            match answer.status_code() {
                200 => answer.text().await?,
                404 => return json_error(404, "Session not found"),
                // Its storage failed (503): say so, the client retries.
                _ => return Ok(answer),
            }
        }
        Err(e) => {
            let mut r = Response::ok(e.body)?.with_status(e.status);
            r.headers_mut().set("content-type", "application/json")?;
            return Ok(r);
        }
    };
    if route == Route::CreateSession {
        let init = worker::RequestInit {
            method: Method::Post,
            headers: req.headers().clone(),
            body: Some(String::from_utf8_lossy(&body).into_owned().into()),
            ..Default::default()
        };
        req = Request::new_with_init(req.url()?.as_ref(), &init)?;
    }
    ns.id_from_name(&chat_id)?.get_stub()?.fetch_with_request(req).await
}

fn json_error(status: u16, message: &str) -> Result<Response> {
    Ok(Response::from_json(&serde_json::json!({ "error": message }))?.with_status(status))
}
