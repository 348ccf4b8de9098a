//! The Cloudflare Worker entry point (feature `cloudflare`).
//!
//! The entry stays trivial: it turns the `worker` crate's request into a
//! route and hands it to plain functions. The self-hosted platform and the
//! head-start routes join here as they land.

use worker::{event, Context, Env, Method, Request, Response, Result};

mod status;

#[event(fetch)]
async fn fetch(req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (Method::Get, "/healthz") => status::healthz(),
        (Method::Get, "/") => status::page(),
        (Method::Get | Method::Head, _) => status::not_found(&path),
        (method, _) => status::method_not_allowed(&method, &path),
    }
}
