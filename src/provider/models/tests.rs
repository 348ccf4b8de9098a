use std::collections::HashMap;

use super::*;
use crate::provider::config::{ModelSettings, DEFAULT_RETRY_BUDGET_MS};
use crate::provider::HttpProviderConfig;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn settings(pairs: &[(&str, &str)]) -> Result<ModelSettings, ConfigError> {
    let map = vars(pairs);
    ModelSettings::from_vars(|k| map.get(k).cloned())
}

fn agent(pairs: &[(&str, &str)]) -> Result<ModelSettings, ConfigError> {
    let map = vars(pairs);
    ModelSettings::agent_from_vars(|k| map.get(k).cloned())
}

fn http(model: &Model) -> &HttpProviderConfig {
    match model {
        Model::Anthropic(c) | Model::OpenAi(c) | Model::OpenAiResponses(c) => c,
        other => panic!("not an HTTP model: {other:?}"),
    }
}

fn message(e: ConfigError) -> String {
    e.to_string()
}

#[test]
fn the_simple_form_uses_each_provider_s_own_variables() {
    let s = settings(&[
        ("HEADSTART_MODELS", "anthropic:claude-haiku-4-5, openai-chat:llama-3.3-70b-versatile"),
        ("ANTHROPIC_API_KEY", "sk-ant"),
        ("OPENAI_API_KEY", "sk-oai"),
        ("OPENAI_BASE_URL", "https://api.groq.com/openai/v1"),
    ])
    .unwrap();
    assert!(matches!(&s.model, Model::Anthropic(c) if c.model == "claude-haiku-4-5" && c.api_key == "sk-ant"));
    assert_eq!(s.fallback.len(), 1);
    let b = http(&s.fallback[0].model);
    assert_eq!(
        (b.model.as_str(), b.api_key.as_str(), b.base_url.as_str()),
        ("llama-3.3-70b-versatile", "sk-oai", "https://api.groq.com/openai/v1")
    );
    assert_eq!(s.retry_budget_ms, DEFAULT_RETRY_BUDGET_MS);
    assert_eq!(s.models().count(), 2);
}

#[test]
fn a_model_id_may_hold_colons_and_slashes() {
    let s =
        settings(&[("HEADSTART_MODELS", "openai-chat:meta-llama/llama-3.3-70b-instruct:free"), ("OPENAI_API_KEY", "k")]).unwrap();
    assert_eq!(http(&s.model).model, "meta-llama/llama-3.3-70b-instruct:free");
    assert!(s.fallback.is_empty());
}

#[test]
fn json_entries_name_their_key_variable_and_carry_headers() {
    let list = r#"[
        {"provider": "openai-chat", "model": "grok-4", "baseURL": "https://api.x.ai/v1", "apiKeyVar": "XAI_API_KEY"},
        {"provider": "openai-chat", "model": "openai/gpt-4o-mini",
         "baseURL": "https://gateway.ai.cloudflare.com/v1/acct/gw/compat", "apiKeyVar": "OPENAI_API_KEY",
         "headers": {"X-Title": "headstart"}, "headersVar": "CF_AIG_HEADERS"}
    ]"#;
    let s = settings(&[
        ("HEADSTART_MODELS", list),
        ("XAI_API_KEY", "xai-secret"),
        ("OPENAI_API_KEY", "sk-oai"),
        ("CF_AIG_HEADERS", r#"{"cf-aig-authorization": "Bearer cf-secret"}"#),
        ("HEADSTART_RETRY_BUDGET_MS", "2500"),
    ])
    .unwrap();
    let a = http(&s.model);
    assert_eq!((a.base_url.as_str(), a.api_key.as_str(), a.model.as_str()), ("https://api.x.ai/v1", "xai-secret", "grok-4"));
    assert!(s.headers.0.is_empty());
    let b = &s.fallback[0];
    assert_eq!(http(&b.model).api_key, "sk-oai");
    assert_eq!(
        b.headers.0,
        [("x-title".to_string(), "headstart".to_string()), ("cf-aig-authorization".to_string(), "Bearer cf-secret".to_string())]
    );
    assert_eq!(s.retry_budget_ms, 2500);
    let shown = format!("{s:?}");
    assert!(!shown.contains("cf-secret") && shown.contains("cf-aig-authorization"), "{shown}");
}

#[test]
fn every_provider_reads_its_key_and_base_url_from_the_conventional_names() {
    // An entry's apiKeyVar and baseURL stand in for `*_API_KEY` and
    // `*_BASE_URL`; a provider whose variables are named otherwise would
    // silently ignore them.
    for provider in ["anthropic", "openai", "openai-chat", "google", "vertex"] {
        let list = format!(r#"[{{"provider":"{provider}","baseURL":"http://h.test/v9","apiKeyVar":"MY_KEY"}}]"#);
        let s = settings(&[("HEADSTART_MODELS", &list), ("MY_KEY", "mine")]).unwrap();
        let (base_url, key) = match &s.model {
            Model::Google(c) => match &c.auth {
                crate::provider::google::GoogleAuth::ApiKey(k) => (c.base_url.as_str(), k.as_str()),
                other => panic!("{provider}: not a key: {other:?}"),
            },
            other => {
                let c = http(other);
                (c.base_url.as_str(), c.api_key.as_str())
            }
        };
        assert_eq!((base_url, key), ("http://h.test/v9", "mine"), "{provider}");
    }
}

#[test]
fn config_errors_name_the_entry_and_never_a_secret() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("HEADSTART_MODELS", "anthropic:a,gemini-x:b"), ("ANTHROPIC_API_KEY", "k")], "entry 2 (gemini-x): unknown provider"),
        (
            &[("HEADSTART_MODELS", "anthropic:a,openai:b"), ("ANTHROPIC_API_KEY", "k")],
            "entry 2 (openai): needs an API key: set OPENAI_API_KEY",
        ),
        (
            &[("HEADSTART_MODELS", r#"[{"provider":"openai","apiKeyVar":"NOPE"}]"#)],
            "entry 1 (openai): NOPE (its apiKeyVar) is not set",
        ),
        (
            &[("HEADSTART_MODELS", r#"[{"provider":"openai","apiKey":"sk-inline"}]"#)],
            "name the variable holding the key with apiKeyVar",
        ),
        (
            &[("HEADSTART_MODELS", "anthropic:a"), ("HEADSTART_PROVIDER", "anthropic"), ("ANTHROPIC_API_KEY", "k")],
            "set either HEADSTART_MODELS or HEADSTART_PROVIDER",
        ),
        (&[("HEADSTART_MODELS", "anthropic:a"), ("HEADSTART_MODEL", "x"), ("ANTHROPIC_API_KEY", "k")], "not both"),
        (&[("HEADSTART_MODELS", "scripted,anthropic:a"), ("ANTHROPIC_API_KEY", "k")], "scripted model cannot be in a list"),
        (&[("HEADSTART_MODELS", "[1]")], "entry 1 must be an object"),
        (&[("HEADSTART_MODELS", "[{")], "must be a JSON array"),
        (&[("HEADSTART_MODELS", " , ")], "names no model"),
        (
            &[("HEADSTART_MODELS", r#"[{"provider":"openai","baseURL":"api.x.ai","apiKeyVar":"K"}]"#), ("K", "k")],
            "baseURL must be an absolute",
        ),
        (
            &[
                ("HEADSTART_MODELS", r#"[{"provider":"openai","apiKeyVar":"K","headers":{"x-a":"v\r\nx-b: smuggled"}}]"#),
                ("K", "k"),
            ],
            "line break",
        ),
        (
            &[
                ("HEADSTART_MODELS", r#"[{"provider":"openai","apiKeyVar":"K","headers":{"bad name":"secret-value"}}]"#),
                ("K", "k"),
            ],
            "not a header name",
        ),
        (
            &[
                ("HEADSTART_MODELS", r#"[{"provider":"openai","apiKeyVar":"K","headersVar":"H"}]"#),
                ("K", "k"),
                ("H", "secret-value"),
            ],
            "H must hold a JSON object",
        ),
        (&[("HEADSTART_MODEL_HEADERS", r#"{"host":"secret-value"}"#), ("OPENAI_API_KEY", "k")], "cannot be set"),
        (&[("HEADSTART_RETRY_BUDGET_MS", "soon")], "HEADSTART_RETRY_BUDGET_MS"),
    ];
    for (pairs, expected) in cases {
        let e = message(settings(pairs).expect_err(expected));
        assert!(e.contains(expected), "{e:?} does not say {expected:?}");
        assert!(!e.contains("secret-value") && !e.contains("sk-inline"), "{e}");
    }
    let many = ["anthropic:a"; MAX_MODELS + 1].join(",");
    assert!(message(settings(&[("HEADSTART_MODELS", &many), ("ANTHROPIC_API_KEY", "k")]).unwrap_err()).contains("at most 8"));
}

#[test]
fn the_single_model_takes_headers_from_headstart_model_headers() {
    let s = settings(&[
        ("OPENAI_API_KEY", "k"),
        ("OPENAI_BASE_URL", "https://ai-gateway.vercel.sh/v1"),
        ("HEADSTART_MODEL_HEADERS", r#"{"X-Extra":"1"}"#),
    ])
    .unwrap();
    assert_eq!(s.headers.0, [("x-extra".to_string(), "1".to_string())]);
    assert!(s.fallback.is_empty());
}

#[test]
fn the_agent_has_its_own_list_or_the_handler_s() {
    let base = [("HEADSTART_PROVIDER", "anthropic"), ("ANTHROPIC_API_KEY", "sk-ant"), ("OPENAI_API_KEY", "sk-oai")];
    // No agent list: the same model as the handler.
    let a = agent(&base).unwrap();
    assert_eq!(a.model, settings(&base).unwrap().model);
    // An agent list: the handler keeps HEADSTART_PROVIDER, the agent its list.
    let mut with_list = base.to_vec();
    with_list.push(("HEADSTART_AGENT_MODELS", "openai-chat:gpt-4o-mini,anthropic:claude-sonnet-4-5"));
    let a = agent(&with_list).unwrap();
    assert!(matches!(&a.model, Model::OpenAi(c) if c.model == "gpt-4o-mini"));
    assert!(matches!(&a.fallback[0].model, Model::Anthropic(_)));
    assert!(matches!(settings(&with_list).unwrap().model, Model::Anthropic(_)));
    // HEADSTART_MODELS is the agent's too when it has no list of its own.
    let a = agent(&[("HEADSTART_MODELS", "openai:x,anthropic:y"), ("ANTHROPIC_API_KEY", "k"), ("OPENAI_API_KEY", "k")]).unwrap();
    assert_eq!(a.models().count(), 2);
}
