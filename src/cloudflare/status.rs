//! The status page and health check that `npm start` serves.

use std::cell::RefCell;
use std::collections::VecDeque;

use worker::{Env, Method, Response, Result};

use super::config;

/// How many recent head-start turns the status page shows.
const RECENT_TURNS: usize = 10;

thread_local! {
    /// This isolate's recent head-start turns, as timelines (no chat ids:
    /// the page is public).
    static RECENT: RefCell<VecDeque<serde_json::Value>> = const { RefCell::new(VecDeque::new()) };
}

/// Keeps a head-start turn's timings for the status page.
pub fn remember_turn(log_line: &serde_json::Value) {
    let Some(timeline) = crate::protocol::timeline::from_turn_log(log_line) else { return };
    RECENT.with(|recent| {
        let mut recent = recent.borrow_mut();
        if recent.len() == RECENT_TURNS {
            recent.pop_back();
        }
        recent.push_front(timeline);
    });
}

/// The recent turns' section: one figure per turn, drawn by `/status.js`
/// from the JSON beside them.
fn recent_turns() -> String {
    let turns: Vec<serde_json::Value> = RECENT.with(|r| r.borrow().iter().cloned().collect());
    if turns.is_empty() {
        return "<h2>Recent turns</h2><p id=\"recent-turns\">No head-start turn in this isolate yet.</p>".into();
    }
    let ms = |t: &serde_json::Value, k: &str| {
        let start = t["edge"]["requestAt"].as_f64().unwrap_or(0.0);
        let at = if k == "complete" || k == "booted" { &t["agent"][k] } else { &t["edge"][k] };
        at.as_f64().map_or("–".to_string(), |v| format!("{:.0} ms", v - start))
    };
    let figures: String = turns
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "<figure data-turn=\"{i}\"><figcaption>{}: session created {}, model first byte {}, step 1 end {}, handover {}, turn complete {}</figcaption></figure>",
                html_escape(t["decision"].as_str().unwrap_or("")),
                ms(t, "sessionCreated"),
                ms(t, "modelFirstByte"),
                ms(t, "stepEnd"),
                ms(t, "handover"),
                ms(t, "complete"),
            )
        })
        .collect();
    // `<` never reaches the script element's text, so nothing in it can close it.
    let data = serde_json::Value::Array(turns).to_string().replace('<', "\\u003c");
    format!(
        "<h2>Recent turns</h2><div id=\"recent-turns\">{figures}</div>\
         <script type=\"application/json\" id=\"recent-turns-data\">{data}</script>\
         <script type=\"module\" src=\"/status.js\"></script>"
    )
}

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
<head><meta charset="utf-8"><title>headstart</title><link rel="icon" href="/favicon.svg" type="image/svg+xml">
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
{recent}
</body>
</html>
"#,
        version = crate::VERSION,
        recent = recent_turns()
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
