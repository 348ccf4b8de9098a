//! The session object's runtime on Cloudflare, as a [`Host`]: the clock and
//! randomness of JS, runs as tasks of the Durable Object, the agent's calls
//! through the runtime's fetch, alias registration through the alias
//! object of the `session_…` id, logs to the console.

use std::future::Future;
use std::pin::Pin;

use worker::Env;

use super::config;
use crate::agent::run::AgentConfig;
use crate::selfhost::server::{Host, Settings, ALIAS_PATH};
use crate::web::fetch::{WebClock, WebFetch};

pub struct DoHost {
    pub env: Env,
    pub settings: Settings,
}

impl Host for DoHost {
    type Fetch = WebFetch;
    type Clock = WebClock;

    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    /// 64 random bits (ids are not secrets; tokens are signed with a key).
    fn random_u64(&self) -> u64 {
        let half = || (js_sys::Math::random() * 4_294_967_296.0) as u64;
        (half() << 32) | half()
    }

    fn spawn_local(&self, task: Pin<Box<dyn Future<Output = ()>>>) {
        wasm_bindgen_futures::spawn_local(task);
    }

    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn agent_config(&self) -> Result<AgentConfig, String> {
        config::agent(&self.env)
    }

    async fn register_alias(&self, session_id: &str, chat_id: &str) -> Result<(), String> {
        let result = async {
            let stub = self.env.durable_object("SESSIONS")?.id_from_name(session_id)?.get_stub()?;
            let init = worker::RequestInit { method: worker::Method::Post, body: Some(chat_id.into()), ..Default::default() };
            stub.fetch_with_request(worker::Request::new_with_init(&format!("https://alias{ALIAS_PATH}"), &init)?).await
        }
        .await;
        match result {
            Ok(r) if r.status_code() == 200 => Ok(()),
            Ok(r) => Err(format!("the alias object answered {}", r.status_code())),
            Err(e) => Err(e.to_string()),
        }
    }

    fn agent_fetch(&self) -> &WebFetch {
        &WebFetch
    }

    fn clock(&self) -> &WebClock {
        &WebClock
    }

    fn log(&self, message: &str) {
        worker::console_error!("{message}");
    }
}
