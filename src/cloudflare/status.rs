//! The status page and health check that `npm start` serves.

use worker::{Env, Method, Response, Result};

use super::config;

/// `GET /healthz`: liveness for scripts and load balancers.
pub fn healthz() -> Result<Response> {
    let mut res = Response::from_json(&serde_json::json!({ "ok": true, "name": "headstart", "version": crate::VERSION }))?;
    res.headers_mut().set("cache-control", "no-store")?;
    Ok(res)
}

/// `GET /status`: what is running and where to look next, and, on a deploy
/// that lacks a secret, which one (by name) keeps it from serving.
pub fn page(env: &Env) -> Result<Response> {
    let local = crate::selfhost::secrets::is_local(&|k| config::var(env, k));
    let state = match config::settings(env) {
        Err(missing) => format!(
            "<p><strong>Not serving:</strong> {} — the platform and the chat routes answer 503 until then.</p>",
            html_escape(&missing.to_string())
        ),
        Ok(_) if local => {
            "<p>Local mode (<code>HEADSTART_LOCAL</code>): the development keys are in use. Never deploy with it.</p>".into()
        }
        Ok(_) => "<p>Serving: the platform's secrets are set.</p>".into(),
    };
    let var = |k: &str| config::var(env, k).filter(|v| !v.trim().is_empty());
    let callers = match crate::routes::auth_from_vars(&var) {
        Ok(mode @ crate::identity::AuthMode::NotConfigured) => {
            format!("<p><strong>Chat routes closed (503):</strong> {}.</p>", html_escape(&mode.describe()))
        }
        Ok(mode) => format!("<p>Chat routes: {}.</p>", html_escape(&mode.describe())),
        Err(e) => format!("<p><strong>Chat routes misconfigured (500):</strong> {}.</p>", html_escape(&e.to_string())),
    };
    Response::from_html(format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>headstart</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}code{{background:#f3f3f3;padding:0 .25rem}}</style>
</head>
<body>
<h1>headstart {version}</h1>
<p>A fast first turn for AI chat apps: this worker runs step 1 of the LLM call
while the chat agent boots, then splices the agent's stream into the same response.</p>
<ul>
<li><a href="/">the chat page</a></li>
<li><a href="/healthz"><code>GET /healthz</code></a> — liveness</li>
<li><code>POST /api/chat</code> — head start; <code>/api/chat/start</code>, <code>/api/chat/token</code>, <code>/api/chat/detached</code></li>
<li><code>/api/v1/sessions</code>, <code>/realtime/v1/sessions/…</code> — the self-hosted session platform</li>
</ul>
{state}
{callers}
</body>
</html>
"#,
        version = crate::VERSION
    ))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A JSON 404, like every other error this worker returns.
pub fn not_found(path: &str) -> Result<Response> {
    error(404, "not_found", &format!("no route for {path}"))
}

pub fn method_not_allowed(method: &Method, path: &str) -> Result<Response> {
    error(405, "method_not_allowed", &format!("{} is not allowed on {path}", method.as_ref()))
}

fn error(status: u16, code: &str, message: &str) -> Result<Response> {
    Ok(Response::from_json(&serde_json::json!({ "error": message, "code": code }))?.with_status(status))
}
