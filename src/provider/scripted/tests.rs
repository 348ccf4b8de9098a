use super::*;
use crate::provider::ToolSpec;
use serde_json::json;

fn tools() -> Vec<ToolSpec> {
    ["get_weather", "calculator", "fetch_url"]
        .iter()
        .map(|n| ToolSpec { name: n.to_string(), description: None, input_schema: json!({"type": "object"}) })
        .collect()
}

fn call(messages: serde_json::Value) -> CallOptions {
    CallOptions { messages: serde_json::from_value(messages).unwrap(), tools: tools(), ..CallOptions::default() }
}

fn user(text: &str) -> CallOptions {
    call(json!([{ "role": "user", "content": [{ "type": "text", "text": text }] }]))
}

fn parts(plan: Plan) -> (Vec<TimedPart>, bool) {
    match plan {
        Plan::Stream { parts, stalls } => (parts, stalls),
        Plan::Fail { error, .. } => panic!("unexpected failure {error}"),
    }
}

fn text_of(parts: &[TimedPart]) -> String {
    parts
        .iter()
        .filter_map(|p| match &p.part {
            StreamPart::TextDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect()
}

fn calls(parts: &[TimedPart]) -> Vec<(String, String)> {
    parts
        .iter()
        .filter_map(|p| match &p.part {
            StreamPart::ToolCall { tool_name, input, .. } => Some((tool_name.clone(), input.clone())),
            _ => None,
        })
        .collect()
}

fn finish(parts: &[TimedPart]) -> FinishReason {
    match &parts.last().unwrap().part {
        StreamPart::Finish { reason, .. } => reason.clone(),
        other => panic!("last part is {other:?}"),
    }
}

#[test]
fn plain_text_is_deterministic_and_timed() {
    let config = ScriptedConfig { ttfb_ms: 400, token_ms: 10, fault: None };
    let (a, stalls) = parts(plan(&config, &user("Tell me a story")));
    let (b, _) = parts(plan(&config, &user("Tell me a story")));
    assert_eq!(a, b);
    assert!(!stalls);
    assert_eq!(a[0].at_ms, 400);
    assert!(text_of(&a).starts_with("You said: \u{201c}Tell me a story\u{201d}."));
    assert_eq!(finish(&a), FinishReason::Stop);
    let deltas = a.iter().filter(|p| matches!(p.part, StreamPart::TextDelta { .. })).count() as u32;
    assert_eq!(a.last().unwrap().at_ms, 400 + 10 * (deltas - 1));
}

#[test]
fn weather_questions_call_the_tool_once_per_city() {
    let (p, _) = parts(plan(&ScriptedConfig::default(), &user("What's the weather in Paris?")));
    assert_eq!(calls(&p), [("get_weather".into(), r#"{"city":"Paris"}"#.into())]);
    assert_eq!(text_of(&p), "Let me check the weather in Paris.");
    assert_eq!(finish(&p), FinishReason::ToolCalls);

    let (p, _) = parts(plan(&ScriptedConfig::default(), &user("weather in Paris, Tokyo and New York")));
    let names: Vec<_> = calls(&p).into_iter().map(|(_, i)| i).collect();
    assert_eq!(names, [r#"{"city":"Paris"}"#, r#"{"city":"Tokyo"}"#, r#"{"city":"New York"}"#]);
    let ids: std::collections::HashSet<_> = p
        .iter()
        .filter_map(|t| match &t.part {
            StreamPart::ToolCall { tool_call_id, .. } => Some(tool_call_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 3);
}

#[test]
fn no_tool_call_for_a_tool_that_is_not_configured() {
    let mut options = user("What's the weather in Paris?");
    options.tools.clear();
    let (p, _) = parts(plan(&ScriptedConfig::default(), &options));
    assert!(calls(&p).is_empty());
    assert_eq!(finish(&p), FinishReason::Stop);
}

#[test]
fn calculator_and_urls() {
    let (p, _) = parts(plan(&ScriptedConfig::default(), &user("what is (12 + 30) * 2?")));
    assert_eq!(calls(&p), [("calculator".into(), r#"{"expression":"(12 + 30) * 2"}"#.into())]);
    let (p, _) = parts(plan(&ScriptedConfig::default(), &user("What is on https://example.com?")));
    assert_eq!(calls(&p), [("fetch_url".into(), r#"{"url":"https://example.com"}"#.into())]);
}

#[test]
fn tool_results_get_a_final_answer_that_uses_them() {
    let options = call(json!([
        { "role": "user", "content": [{ "type": "text", "text": "weather in Paris" }] },
        { "role": "assistant", "content": [{ "type": "tool-call", "toolCallId": "c1", "toolName": "get_weather", "input": { "city": "Paris" } }] },
        { "role": "tool", "content": [{ "type": "tool-result", "toolCallId": "c1", "toolName": "get_weather",
            "output": { "type": "json", "value": { "city": "Paris", "temperatureC": 21, "condition": "sunny" } } }] }
    ]));
    let (p, _) = parts(plan(&ScriptedConfig::default(), &options));
    assert_eq!(text_of(&p), "It is 21 °C and sunny in Paris.");
    assert!(calls(&p).is_empty());
}

#[test]
fn faults_on_demand() {
    let (p, stalls) = parts(plan(&ScriptedConfig::default(), &user("Tell me a long story please [fault:stall]")));
    assert!(stalls);
    assert!(!p.iter().any(|t| matches!(t.part, StreamPart::Finish { .. })));
    assert!(!text_of(&p).contains("[fault"));

    let (p, _) = parts(plan(&ScriptedConfig::default(), &user("Tell me a long story please [fault:error]")));
    assert!(matches!(p.last().unwrap().part, StreamPart::Error(ProviderError::Stream { .. })));

    match plan(&ScriptedConfig::default(), &user("hi [fault:http-429]")) {
        Plan::Fail { error: ProviderError::Http { status: 429, retry_after_ms: Some(1000), .. }, .. } => {}
        other => panic!("{other:?}"),
    }
    let config = ScriptedConfig { fault: Some(Fault::Http(500)), ..ScriptedConfig::default() };
    assert!(matches!(plan(&config, &user("hi")), Plan::Fail { error: ProviderError::Http { status: 500, .. }, .. }));
}

/// Characters whose lower case has another UTF-8 length ('İ' → "i̇",
/// 'ẞ' → 'ß', 'Ⱥ' → 'ⱥ', ...): offsets into a lower-cased copy of a
/// text containing them are not offsets into the text.
fn length_changing_chars() -> Vec<char> {
    (0..=char::MAX as u32)
        .filter_map(char::from_u32)
        .filter(|c| c.to_lowercase().map(char::len_utf8).sum::<usize>() != c.len_utf8())
        .collect()
}

/// Plans an answer to `text`, which must be a complete stream with text.
fn answer_to(text: &str) -> Vec<TimedPart> {
    let (p, stalls) = parts(plan(&ScriptedConfig::default(), &user(text)));
    assert!(!stalls, "{text:?}");
    assert!(matches!(p.last().map(|t| &t.part), Some(StreamPart::Finish { .. })), "{text:?}: {p:?}");
    assert!(!text_of(&p).is_empty(), "{text:?}");
    p
}

#[test]
fn weather_after_letters_whose_lower_case_is_longer() {
    let p = answer_to("İweather in Paris");
    assert_eq!(calls(&p), [("get_weather".into(), r#"{"city":"Paris"}"#.into())]);
    let p = answer_to("ẞȺ WEATHER IN Ⱥberdeen and İstanbul?");
    assert_eq!(calls(&p).into_iter().map(|(_, i)| i).collect::<Vec<_>>(), [r#"{"city":"Ⱥberdeen"}"#, r#"{"city":"İstanbul"}"#]);
}

#[test]
fn every_length_changing_letter_before_and_inside_a_city_is_answered() {
    let odd = length_changing_chars();
    assert!(odd.len() >= 3, "{odd:?}");
    for c in odd {
        for text in [format!("{c}weather in Rome"), format!("{c}{c} Weather in {c}ville, Rome and {c}"), format!("{c}")] {
            let p = answer_to(&text);
            if text.contains("Rome") {
                assert!(calls(&p).iter().any(|(_, i)| i == r#"{"city":"Rome"}"#), "{text:?}: {p:?}");
            }
        }
    }
}

proptest::proptest! {
    #[test]
    fn any_user_text_is_answered(
        prefix in "[İẞȺȾKÅΩ\u{0}-\u{7f}\u{80}-\u{10ffff}]{0,8}",
        city in "\\PC{0,12}",
        text in "\\PC{0,40}",
    ) {
        proptest::prop_assume!(!text.contains("[fault:") && !city.contains("[fault:"));
        answer_to(&text);
        answer_to(&format!("{prefix}weather in {city}"));
        answer_to(&format!("{prefix}WEATHER IN {city}?"));
    }
}

fn after_weather_in_paris(follow_up: &str) -> CallOptions {
    call(json!([
        { "role": "user", "content": [{ "type": "text", "text": "What's the weather in Paris?" }] },
        { "role": "assistant", "content": [
            { "type": "text", "text": "Let me check the weather in Paris." },
            { "type": "tool-call", "toolCallId": "c1", "toolName": "get_weather", "input": { "city": "Paris" } }] },
        { "role": "tool", "content": [{ "type": "tool-result", "toolCallId": "c1", "toolName": "get_weather",
            "output": { "type": "json", "value": { "city": "Paris", "temperatureC": 18, "condition": "sunny" } } }] },
        { "role": "assistant", "content": [{ "type": "text", "text": "It is 18 °C and sunny in Paris." }] },
        { "role": "user", "content": [{ "type": "text", "text": follow_up }] }
    ]))
}

#[test]
fn a_follow_up_after_a_weather_answer_asks_the_weather_again() {
    let config = ScriptedConfig::default();
    let (p, _) = parts(plan(&config, &after_weather_in_paris("and in London?")));
    assert_eq!(calls(&p), [("get_weather".into(), r#"{"city":"London"}"#.into())]);
    assert_eq!(text_of(&p), "Let me check the weather in London.");
    assert_eq!(finish(&p), FinishReason::ToolCalls);
    // Deterministic: the same conversation gets the same call ids.
    assert_eq!(parts(plan(&config, &after_weather_in_paris("and in London?"))).0, p);
    let (p, _) = parts(plan(&config, &after_weather_in_paris("What about Rome and Oslo?")));
    assert_eq!(
        calls(&p),
        [("get_weather".into(), r#"{"city":"Rome"}"#.into()), ("get_weather".into(), r#"{"city":"Oslo"}"#.into())]
    );
    let (p, _) = parts(plan(&config, &after_weather_in_paris("How about Tokyo")));
    assert_eq!(calls(&p), [("get_weather".into(), r#"{"city":"Tokyo"}"#.into())]);
}

#[test]
fn a_follow_up_without_a_weather_question_before_it_is_text() {
    let (p, _) = parts(plan(&ScriptedConfig::default(), &user("and in London?")));
    assert!(calls(&p).is_empty());
    assert!(text_of(&p).starts_with("You said:"));
    // After a calculation the conversation is not about the weather.
    let options = call(json!([
        { "role": "user", "content": [{ "type": "text", "text": "2+2" }] },
        { "role": "assistant", "content": [{ "type": "tool-call", "toolCallId": "c1", "toolName": "calculator", "input": { "expression": "2+2" } }] },
        { "role": "tool", "content": [{ "type": "tool-result", "toolCallId": "c1", "toolName": "calculator",
            "output": { "type": "json", "value": { "expression": "2+2", "result": 4 } } }] },
        { "role": "user", "content": [{ "type": "text", "text": "and in London?" }] }
    ]));
    assert!(calls(&parts(plan(&ScriptedConfig::default(), &options)).0).is_empty());
    // A follow-up that is not one stays text.
    for text in ["thanks!", "and more?", "what about it?"] {
        assert!(calls(&parts(plan(&ScriptedConfig::default(), &after_weather_in_paris(text))).0).is_empty(), "{text}");
    }
}
