//! `convert_to_model_messages` against the real AI SDK `convertToModelMessages`
//! (`node_modules/ai`), fixture by fixture (tests/fixtures/ui-messages, format
//! in its README.md). Needs `npm ci`: without the SDK these tests fail.

mod common;

use std::collections::BTreeMap;

use headstart::protocol::convert::{convert_to_model_messages, ConvertOptions};
use headstart::protocol::message::DataPart;
use headstart::protocol::model::TextPart;
use headstart::protocol::{ModelMessage, ModelPart, UiMessage};
use serde_json::Value;

use common::{assert_json_eq, first_difference, fixtures, json_files, read_json, run_node};

struct Fixture {
    messages: Value,
    options: Value,
    sdk_invalid: bool,
}

fn load_fixtures() -> BTreeMap<String, Fixture> {
    let files = json_files(&fixtures("ui-messages"));
    assert!(files.len() >= 24, "expected at least 24 fixtures, found {}", files.len());
    files
        .into_iter()
        .map(|(name, path)| {
            let json = read_json(&path);
            let fixture = match json {
                Value::Array(_) => Fixture { messages: json, options: Value::Null, sdk_invalid: false },
                Value::Object(mut o) => Fixture {
                    messages: o.remove("messages").unwrap_or_else(|| panic!("{name}: no `messages`")),
                    options: o.remove("options").unwrap_or(Value::Null),
                    sdk_invalid: o.contains_key("sdkInvalid"),
                },
                _ => panic!("{name}: a fixture is an array or an object"),
            };
            (name, fixture)
        })
        .collect()
}

/// The `dataNoteToText` hook of tests/js/convert.mjs.
fn data_note_to_text(part: &DataPart) -> Option<ModelPart> {
    let text = part.data.as_ref()?.get("text")?.as_str()?;
    (part.name == "note").then(|| ModelPart::Text(TextPart::new(text)))
}

fn parse_messages(name: &str, messages: &Value) -> Vec<UiMessage> {
    serde_json::from_value(messages.clone()).unwrap_or_else(|e| panic!("{name}: not UiMessages: {e}"))
}

/// Our conversion, shaped like the node script's output.
fn ours(name: &str, fixture: &Fixture) -> Value {
    let messages = parse_messages(name, &fixture.messages);
    let hook: &dyn Fn(&DataPart) -> Option<ModelPart> = &data_note_to_text;
    let mut options = ConvertOptions::default();
    if let Value::Object(o) = &fixture.options {
        for (key, value) in o {
            match (key.as_str(), value) {
                ("ignoreIncompleteToolCalls", Value::Bool(b)) => options.ignore_incomplete_tool_calls = *b,
                ("convertDataPart", Value::String(s)) if s == "dataNoteToText" => options.convert_data_part = Some(hook),
                _ => panic!("{name}: unsupported option {key}: {value}"),
            }
        }
    }
    match convert_to_model_messages(&messages, &options) {
        Ok(model) => serde_json::to_value(&model).expect("model messages serialize"),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    }
}

fn is_error(v: &Value) -> bool {
    v.get("error").is_some()
}

#[test]
fn conversion_equals_the_ai_sdk() {
    let fixtures = load_fixtures();
    let expected = run_node("convert.mjs", &[]);
    let mut failures = Vec::new();
    for (name, fixture) in &fixtures {
        let want = expected.get(name).unwrap_or_else(|| panic!("{name}: no SDK result"));
        assert_eq!(
            is_error(want),
            name.starts_with("error-"),
            "{name}: fixtures named error-* (and only those) must make the SDK throw; SDK gave {want}"
        );
        let got = ours(name, fixture);
        let same = if is_error(want) { is_error(&got) } else { want == &got };
        if !same {
            failures.push((name, want, got));
        }
    }
    if let Some((name, want, got)) = failures.first() {
        let names: Vec<_> = failures.iter().map(|f| f.0.as_str()).collect();
        let diff = first_difference(want, got).unwrap_or_else(|| "one side is an error".into());
        panic!(
            "{} of {} fixtures differ from the AI SDK: {names:?}\nfirst: {name}, at {diff}\n--- expected (AI SDK)\n{}\n--- got (headstart)\n{}",
            failures.len(),
            fixtures.len(),
            serde_json::to_string_pretty(want).unwrap(),
            serde_json::to_string_pretty(got).unwrap()
        );
    }
}

#[test]
fn fixtures_are_valid_ui_messages_unless_marked() {
    let fixtures = load_fixtures();
    let verdicts = run_node("convert.mjs", &["--validate"]);
    for (name, fixture) in &fixtures {
        let issue = verdicts.get(name).unwrap_or_else(|| panic!("{name}: no SDK verdict"));
        if fixture.sdk_invalid {
            assert!(!issue.is_null(), "{name} is marked sdkInvalid but validateUIMessages accepts it");
        } else {
            assert!(issue.is_null(), "{name}: validateUIMessages rejects it ({issue}); fix it or mark it sdkInvalid");
        }
    }
}

#[test]
fn sdk_results_round_trip_as_model_messages() {
    let expected = run_node("convert.mjs", &[]);
    for (name, want) in expected.as_object().expect("an object") {
        if is_error(want) {
            continue;
        }
        let parsed: Vec<ModelMessage> =
            serde_json::from_value(want.clone()).unwrap_or_else(|e| panic!("{name}: not ModelMessages: {e}"));
        assert!(parsed.iter().all(|m| !matches!(m, ModelMessage::Unknown(_))), "{name}: unknown role");
        let back = serde_json::to_value(&parsed).unwrap();
        assert_json_eq(&format!("{name}: ModelMessage round trip"), want, &back);
    }
}

#[test]
fn fixtures_round_trip_as_ui_messages() {
    for (name, fixture) in &load_fixtures() {
        let parsed = parse_messages(name, &fixture.messages);
        let back = serde_json::to_value(&parsed).unwrap();
        assert_json_eq(&format!("{name}: UiMessage round trip"), &fixture.messages, &back);
    }
}
