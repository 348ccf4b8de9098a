//! One simulated deploy: the edge's routes, the self-hosted platform (one
//! real session object per chat over in-memory storage, the reference agent
//! running inside), and the model host, on one network and one clock.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use futures_util::future::AbortHandle;
use futures_util::StreamExt;
use headstart::agent::run::AgentConfig;
use headstart::agent::tools::{ToolOptions, ToolRegistry};
use headstart::io::HttpRequest;
use headstart::provider::config::ModelSettings;
use headstart::routes::{Routes, RoutesConfig, Runtime};
use headstart::selfhost::mem_store::MemSessionStore;
use headstart::selfhost::route;
use headstart::selfhost::server::target::{self, Target};
use headstart::selfhost::server::{Host, Server, ServerBody, ServerRequest, Settings, ALIAS_PATH};

use crate::dialect::Dialect;
use crate::exec::{Rng, SimClock, Spawner};
use crate::net::{Handler, LinkFaults, Net, Payload, Reply, SimFetch};

pub const EDGE: &str = "http://edge.sim";
pub const PLATFORM: &str = "http://platform.sim";
pub const MODEL: &str = "http://model.sim";
/// The second model of a list (fallback seeds only).
pub const MODEL_B: &str = "http://model-b.sim";
/// The HTTP tool's endpoint (`lookup`), for the edge and the agent alike.
pub const TOOLS: &str = "http://tools.sim";
pub const HTTP_TOOLS: &str = r#"{"lookup": {"url": "http://tools.sim/lookup", "timeoutMs": 5000,
    "inputSchema": {"type": "object", "properties": {"query": {"type": "string"}}}}}"#;
/// Wall-clock ms at virtual time 0 (tokens carry real times).
pub const EPOCH_MS: u64 = 1_780_000_000_000;
pub const SECRET_KEY: &str = "tr_dev_sim_secret";

pub type SimRoutes = Routes<SimFetch, SimFetch, SimClock, EdgeRuntime>;

/// Log lines of every component, in order, for a failing seed's report.
pub type Trace = Rc<RefCell<Vec<String>>>;

/// A seed's model list: the edge's (`HEADSTART_MODELS`), the agent's own
/// if it has one (`HEADSTART_AGENT_MODELS`), and the retry budget.
#[derive(Debug, Clone)]
pub struct Fallback {
    pub edge: Vec<&'static str>,
    pub agent: Option<Vec<&'static str>>,
    pub budget_ms: u32,
    /// The first host answers 503 to everything: every step must reach
    /// the second, and the turn complete as if nothing had failed.
    pub first_down: bool,
}

impl Fallback {
    /// Hosts as a `HEADSTART_MODELS` JSON list, each with its own key.
    fn list(hosts: &[&str], dialects: Dialects) -> String {
        let entries: Vec<serde_json::Value> = hosts
            .iter()
            .map(|h| {
                let key = if *h == MODEL_B { "MODEL_B_KEY" } else { "ANTHROPIC_API_KEY" };
                let dialect = if *h == MODEL_B { dialects.1 } else { dialects.0 };
                let (provider, model, version) = provider_of(dialect);
                serde_json::json!({"provider": provider, "model": model, "baseURL": format!("{h}{version}"), "apiKeyVar": key})
            })
            .collect();
        serde_json::Value::Array(entries).to_string()
    }
}

/// The APIs of the first and the second model host.
pub type Dialects = (Dialect, Dialect);

/// A host's provider name, model id and base URL path.
fn provider_of(dialect: Dialect) -> (&'static str, &'static str, &'static str) {
    match dialect {
        Dialect::Anthropic => ("anthropic", "claude-sim", "/v1"),
        Dialect::Gemini => ("google", "gemini-sim", "/v1beta"),
        Dialect::Responses => ("openai", "gpt-sim", "/v1"),
    }
}

/// The variables the edge and the agent are configured with.
pub fn vars(
    idle_secs: u32,
    edge_tools: Option<&'static str>,
    fallback: Option<Fallback>,
    dialects: Dialects,
) -> impl Fn(&str) -> Option<String> {
    let (provider, model, version) = provider_of(dialects.0);
    move |name: &str| {
        Some(match name {
            "HEADSTART_MODELS" => Fallback::list(&fallback.as_ref()?.edge, dialects),
            "HEADSTART_AGENT_MODELS" => Fallback::list(fallback.as_ref()?.agent.as_ref()?, dialects),
            "HEADSTART_RETRY_BUDGET_MS" => fallback.as_ref()?.budget_ms.to_string(),
            "MODEL_B_KEY" => "sk-sim-b".into(),
            "HEADSTART_EDGE_TOOLS" => edge_tools?.into(),
            "HEADSTART_HTTP_TOOLS" => HTTP_TOOLS.into(),
            "HEADSTART_PROVIDER" if fallback.is_some() => return None,
            "HEADSTART_PROVIDER" => provider.into(),
            "HEADSTART_MODEL" if fallback.is_none() => model.into(),
            // The first host's key under both names: a list entry of either
            // provider names ANTHROPIC_API_KEY.
            "ANTHROPIC_API_KEY" | "GOOGLE_GENERATIVE_AI_API_KEY" | "OPENAI_API_KEY" => "sk-sim".into(),
            "ANTHROPIC_BASE_URL" | "GOOGLE_GENERATIVE_AI_BASE_URL" | "OPENAI_BASE_URL" => format!("{MODEL}{version}"),
            "HEADSTART_STALL_TIMEOUT_MS" => "20000".into(),
            "TRIGGER_API_URL" => PLATFORM.into(),
            "TRIGGER_SECRET_KEY" => SECRET_KEY.into(),
            "HEADSTART_IDLE_TIMEOUT_SECS" => idle_secs.to_string(),
            "HEADSTART_LOCAL" => "1".into(),
            _ => return None,
        })
    }
}

pub struct EdgeRuntime {
    pub spawner: Spawner,
    pub clock: SimClock,
    pub rng: RefCell<Rng>,
    pub trace: Trace,
}

impl Runtime for EdgeRuntime {
    fn spawn_background(&self, task: Pin<Box<dyn Future<Output = ()>>>) {
        self.spawner.spawn(task);
    }

    fn random_u64(&self) -> u64 {
        self.rng.borrow_mut().next_u64()
    }

    fn now_secs(&self) -> u64 {
        (EPOCH_MS + self.clock.now()) / 1000
    }

    fn log(&self, line: &str) {
        self.trace.borrow_mut().push(format!("{:>7} edge: {line}", self.clock.now()));
    }
}

/// What a session object needs, in memory.
#[derive(Clone)]
pub struct ObjectHost {
    name: String,
    platform: Rc<PlatformState>,
}

impl Host for ObjectHost {
    type Fetch = SimFetch;
    type Clock = SimClock;

    fn now_ms(&self) -> u64 {
        EPOCH_MS + self.platform.clock.now()
    }

    fn random_u64(&self) -> u64 {
        self.platform.rng.borrow_mut().next_u64()
    }

    fn spawn_local(&self, task: Pin<Box<dyn Future<Output = ()>>>) {
        let handle = self.platform.spawner.spawn_abortable(task);
        self.platform.tasks.borrow_mut().entry(self.name.clone()).or_default().push(handle);
    }

    fn settings(&self) -> &Settings {
        &self.platform.settings
    }

    fn agent_config(&self) -> Result<AgentConfig, String> {
        Ok(self.platform.agent.clone())
    }

    async fn register_alias(&self, session_id: &str, chat_id: &str) -> Result<(), String> {
        self.platform.aliases.borrow_mut().insert(session_id.into(), chat_id.into());
        Ok(())
    }

    fn agent_fetch(&self) -> &SimFetch {
        &self.platform.agent_fetch
    }

    fn clock(&self) -> &SimClock {
        &self.platform.clock
    }

    fn log(&self, message: &str) {
        self.platform.trace.borrow_mut().push(format!("{:>7} {}: {message}", self.platform.clock.now(), self.name));
    }
}

/// Arms a new object's storage with its faults.
type ArmStore = Box<dyn Fn(&MemSessionStore)>;

pub struct PlatformState {
    clock: SimClock,
    spawner: Spawner,
    rng: RefCell<Rng>,
    settings: Settings,
    agent: AgentConfig,
    agent_fetch: SimFetch,
    trace: Trace,
    /// The objects alive now; a crash removes one (its storage stays).
    objects: RefCell<HashMap<String, Rc<Server<MemSessionStore, ObjectHost>>>>,
    pub stores: RefCell<HashMap<String, MemSessionStore>>,
    tasks: RefCell<HashMap<String, Vec<AbortHandle>>>,
    aliases: RefCell<HashMap<String, String>>,
    /// Called with each new store (to arm its faults).
    on_new_store: RefCell<Option<ArmStore>>,
}

impl PlatformState {
    pub fn store(&self, chat_id: &str) -> Option<MemSessionStore> {
        self.stores.borrow().get(chat_id).cloned()
    }

    /// The object of `name` dies: its tasks (the agent's run, live tails)
    /// stop where they are and its memory is gone; the next request builds
    /// it again over the same storage.
    pub fn crash(&self, name: &str) {
        for task in self.tasks.borrow_mut().remove(name).unwrap_or_default() {
            task.abort();
        }
        self.objects.borrow_mut().remove(name);
    }

    pub fn crash_all(&self) {
        let names: Vec<String> = self.objects.borrow().keys().cloned().collect();
        for name in names {
            self.crash(&name);
        }
    }

    pub fn set_store_faults(&self, arm: impl Fn(&MemSessionStore) + 'static) {
        *self.on_new_store.borrow_mut() = Some(Box::new(arm));
    }

    fn object(self: &Rc<Self>, name: &str) -> Rc<Server<MemSessionStore, ObjectHost>> {
        if let Some(server) = self.objects.borrow().get(name) {
            return server.clone();
        }
        let store = self.stores.borrow_mut().entry(name.to_string()).or_default().clone();
        if let Some(arm) = self.on_new_store.borrow().as_ref() {
            arm(&store);
        }
        let host = ObjectHost { name: name.into(), platform: self.clone() };
        let server = Rc::new(Server::new(store, host));
        self.objects.borrow_mut().insert(name.into(), server.clone());
        server
    }

    /// The worker entry's routing (src/cloudflare/mod.rs), in memory.
    async fn serve(self: Rc<Self>, req: HttpRequest) -> Reply {
        let path = headstart::routes::path_of(&req.url);
        let parsed = match route::parse(req.method, &path) {
            Ok(route::Route::Preflight) => return Reply::json(204, ""),
            Ok(r) => r,
            Err(e) => {
                let e = e.response();
                return Reply::json(e.status, &e.body);
            }
        };
        let authorization = req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.as_str());
        if let Err(e) = target::admit(authorization, &self.settings, (EPOCH_MS + self.clock.now()) / 1000) {
            return Reply::json(e.status, &e.body);
        }
        let length = req.body.len().to_string();
        let name = match target::target(&parsed, Some(&length), req.body.as_bytes()) {
            Ok(Target::Chat(name)) => name,
            Ok(Target::Alias(id)) => match self.aliases.borrow().get(&id) {
                Some(chat) => chat.clone(),
                None => return Reply::json(404, r#"{"error":"Session not found"}"#),
            },
            Err(e) => return Reply::json(e.status, &e.body),
        };
        let _ = ALIAS_PATH;
        let server = self.object(&name);
        let request = ServerRequest {
            method: req.method.to_string(),
            url: req.url.clone(),
            // A runtime's fetch adds the length of a string body.
            headers: req
                .headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                .chain([("content-length".to_string(), length.clone())])
                .collect(),
            body: req.body.into_bytes(),
        };
        let response = server.handle(request).await;
        let body = match response.body {
            ServerBody::Text(text) => Payload::Bytes(text.into_bytes()),
            ServerBody::Events(events) => Payload::Stream(Box::pin(events.map(String::into_bytes))),
        };
        Reply { status: response.status, headers: response.headers, body }
    }
}

/// Knobs a seed turns.
pub struct Setup {
    pub latency_ms: u64,
    /// The platform's link (the edge, and the browser's direct turns).
    pub edge_platform: LinkFaults,
    /// The model host's link (the edge's step 1 and the agent's steps).
    pub edge_model: LinkFaults,
    /// The model list, when the seed has one, and the second host's link.
    pub fallback: Option<Fallback>,
    /// The APIs the two model hosts speak.
    pub dialects: Dialects,
    /// The hosts answer nothing after tool results.
    pub empty_after_tools: bool,
    pub model_b: LinkFaults,
    pub boot_delay_ms: u32,
    pub idle_secs: u32,
    pub model_ttfb_ms: u32,
    pub model_token_ms: u32,
    /// `HEADSTART_EDGE_TOOLS` of the edge (none: edge steps off).
    pub edge_tools: Option<&'static str>,
    /// The tool host's link, and how it answers.
    pub tools_link: LinkFaults,
    pub tool_mode: ToolMode,
}

/// How the tool host answers `lookup`, beside its link's faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolMode {
    Ok,
    /// A 500 with a JSON error.
    Fails,
    /// Never answers (the tool's deadline ends the call).
    Hangs,
    /// A 200 whose JSON content type carries no JSON.
    Garbage,
}

fn tool_host(mode: ToolMode, clock: SimClock) -> Handler {
    Rc::new(move |_req: HttpRequest| {
        let clock = clock.clone();
        Box::pin(async move {
            headstart::io::Clock::sleep(&clock, 80).await;
            match mode {
                ToolMode::Ok => Reply::json(200, r#"{"flights":["SK 4035","DY 1303"]}"#),
                ToolMode::Fails => Reply::json(500, r#"{"error":"upstream down"}"#),
                ToolMode::Hangs => std::future::pending().await,
                ToolMode::Garbage => Reply::json(200, "<html>\u{0}{{{ not json"),
            }
        }) as Pin<Box<dyn Future<Output = Reply>>>
    })
}

pub struct World {
    pub net: Rc<Net>,
    pub platform: Rc<PlatformState>,
    pub routes: SimRoutes,
    pub client_fetch: SimFetch,
    pub trace: Trace,
}

impl World {
    pub fn new(clock: &SimClock, spawner: Spawner, rng: &mut Rng, setup: &Setup, answer: crate::model::Answer) -> Self {
        let trace: Trace = Rc::default();
        let net = Net::new(clock.clone(), rng.fork(), setup.latency_ms);
        let host = |voice, dialect| {
            Rc::new(crate::model::Model {
                voice,
                dialect,
                answer: std::cell::Cell::new(answer),
                ttfb_ms: setup.model_ttfb_ms,
                token_ms: setup.model_token_ms,
                empty_after_tools: setup.empty_after_tools,
                calls: std::cell::Cell::new(0),
            })
        };
        let (model, model_b) = (host(crate::model::Voice::A, setup.dialects.0), host(crate::model::Voice::B, setup.dialects.1));
        let model_settings = ModelSettings::agent_from_vars(vars(setup.idle_secs, None, setup.fallback.clone(), setup.dialects))
            .expect("the simulated model configures");
        let mut agent = AgentConfig::new(
            model_settings,
            ToolRegistry::from_config(ToolOptions::default(), Some(HTTP_TOOLS)).expect("the tools configure"),
        );
        agent.boot_delay_ms = setup.boot_delay_ms;
        let platform = Rc::new(PlatformState {
            clock: clock.clone(),
            spawner: spawner.clone(),
            rng: RefCell::new(rng.fork()),
            settings: Settings {
                secret_key: SECRET_KEY.into(),
                signing_key: b"sim-signing-key".to_vec(),
                env_id: "env_sim".into(),
                create_delay_ms: None,
                webhook_url: None,
            },
            agent,
            agent_fetch: net.client("agent"),
            trace: trace.clone(),
            objects: RefCell::default(),
            stores: RefCell::default(),
            tasks: RefCell::default(),
            aliases: RefCell::default(),
            on_new_store: RefCell::new(None),
        });
        // Faults on the platform link depend on who calls; one host per
        // caller keeps the odds apart.
        let serve = |platform: Rc<PlatformState>| -> Handler {
            Rc::new(move |req| Box::pin(platform.clone().serve(req)) as Pin<Box<dyn Future<Output = Reply>>>)
        };
        net.add_host(PLATFORM, setup.edge_platform.clone(), serve(platform.clone()));
        net.add_host(MODEL, setup.edge_model.clone(), model.handler(clock.clone()));
        net.add_host(MODEL_B, setup.model_b.clone(), model_b.handler(clock.clone()));
        net.add_host(TOOLS, setup.tools_link.clone(), tool_host(setup.tool_mode, clock.clone()));
        let routes_config =
            RoutesConfig::from_vars(vars(setup.idle_secs, setup.edge_tools, setup.fallback.clone(), setup.dialects), EDGE)
                .expect("the routes configure");
        let runtime = EdgeRuntime { spawner, clock: clock.clone(), rng: RefCell::new(rng.fork()), trace: trace.clone() };
        let routes = Routes::new(Rc::new(routes_config), net.client("edge"), net.client("edge"), clock.clone(), runtime);
        let client_fetch = net.client("browser");
        Self { net, platform, routes, client_fetch, trace }
    }
}
