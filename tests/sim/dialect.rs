//! The APIs a simulated model host speaks: one answer ([`Ev`]s) written as
//! Anthropic Messages, Gemini's `streamGenerateContent` or the OpenAI
//! Responses API streams it.

use serde_json::{json, Value};

/// Which API a host speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Anthropic,
    Gemini,
    /// The OpenAI Responses API.
    Responses,
}

/// One event of an answer, before it is written in a dialect.
pub enum Ev {
    Start,
    TextStart,
    Word(String),
    TextEnd,
    Call {
        index: usize,
        id: String,
        name: &'static str,
        input: Value,
    },
    /// A retryable error event (overloaded).
    Error,
    /// An event cut to invalid JSON.
    Malformed,
    Finish {
        tools: bool,
    },
}

impl Dialect {
    /// Tool rounds since the user last wrote, from the request body.
    pub fn tool_rounds(self, body: &Value) -> usize {
        if self == Self::Responses {
            // Each call's output is an item of its own: a run of outputs
            // is one round.
            let items = body["input"].as_array().cloned().unwrap_or_default();
            let (mut rounds, mut in_run) = (0, false);
            for item in items.iter().rev() {
                let output = item["type"] == "function_call_output";
                if !output && item["role"] == "user" {
                    break;
                }
                if output && !in_run {
                    rounds += 1;
                }
                in_run = output;
            }
            return rounds;
        }
        let (list, role, is_results): (&str, &str, fn(&Value) -> bool) = match self {
            Self::Anthropic => ("messages", "assistant", |m| {
                m["content"].as_array().is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"))
            }),
            _ => ("contents", "model", |m| {
                m["parts"].as_array().is_some_and(|c| c.iter().any(|p| p.get("functionResponse").is_some()))
            }),
        };
        let messages = body[list].as_array().cloned().unwrap_or_default();
        messages.iter().rev().take_while(|m| m["role"] == role || is_results(m)).filter(|m| is_results(m)).count()
    }

    /// The event as this API streams it, one network write per event
    /// (none for what it does not send); `seq` counts the answer's events.
    pub fn write(self, ev: &Ev, seq: usize) -> Vec<String> {
        match self {
            Self::Anthropic => vec![match ev {
                Ev::Start => event(
                    "message_start",
                    json!({"type":"message_start","message":{"id":"msg_sim","type":"message","role":"assistant","model":"claude-sim",
                        "content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}),
                ),
                Ev::TextStart => event(
                    "content_block_start",
                    json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
                ),
                Ev::Word(word) => event(
                    "content_block_delta",
                    json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":word}}),
                ),
                Ev::TextEnd => event("content_block_stop", json!({"type":"content_block_stop","index":0})),
                Ev::Call { index, id, name, input } => {
                    let mut out = vec![event(
                        "content_block_start",
                        json!({"type":"content_block_start","index":index,"content_block":
                            {"type":"tool_use","id":id,"name":name,"input":{}}}),
                    )];
                    let input = input.to_string();
                    let (a, b) = input.split_at(input.len() / 2);
                    for piece in [a, b] {
                        out.push(event(
                            "content_block_delta",
                            json!({"type":"content_block_delta","index":index,"delta":{"type":"input_json_delta","partial_json":piece}}),
                        ));
                    }
                    out.push(event("content_block_stop", json!({"type":"content_block_stop","index":index})));
                    return out;
                }
                Ev::Error => event("error", json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})),
                Ev::Malformed => "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"ind\n\n".into(),
                Ev::Finish { tools } => {
                    let stop = if *tools { "tool_use" } else { "end_turn" };
                    return vec![
                        event(
                            "message_delta",
                            json!({"type":"message_delta","delta":{"stop_reason":stop,"stop_sequence":null},"usage":{"output_tokens":20}}),
                        ),
                        event("message_stop", json!({"type":"message_stop"})),
                    ];
                }
            }],
            // Gemini sends whole parts, CRLF-delimited, a call with its
            // arguments in one piece; STOP ends a call as it ends text.
            Self::Gemini => {
                let part = |part: Value| json!({"candidates":[{"content":{"parts":[part],"role":"model"},"index":0}]});
                vec![data(match ev {
                    Ev::Start | Ev::TextStart | Ev::TextEnd => return Vec::new(),
                    Ev::Word(word) => part(json!({ "text": word })),
                    Ev::Call { id, name, input, .. } => part(json!({"functionCall":{"id":id,"name":name,"args":input}})),
                    Ev::Error => json!({"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}),
                    Ev::Malformed => return vec!["data: {\"candidates\": [{\"cont\r\n\r\n".into()],
                    Ev::Finish { .. } => json!({"candidates":[{"finishReason":"STOP","index":0}],"usageMetadata":
                        {"promptTokenCount":12,"candidatesTokenCount":20,"totalTokenCount":32},"modelVersion":"gemini-sim"}),
                })]
            }
            Self::Responses => responses(ev, seq),
        }
    }
}

/// A Responses event: the type in `event:` and in the data, with its
/// sequence number.
fn responses(ev: &Ev, seq: usize) -> Vec<String> {
    let e = |kind: &str, mut data: Value| {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(seq);
        event(kind, data)
    };
    let response = |status: &str, usage: Value| {
        json!({"id":"resp_sim","object":"response","created_at":1780000000,"status":status,"error":null,
            "incomplete_details":null,"model":"gpt-sim","output":[],"usage":usage})
    };
    match ev {
        Ev::Start => vec![e("response.created", json!({ "response": response("in_progress", Value::Null) }))],
        Ev::TextStart => vec![e(
            "response.output_item.added",
            json!({"output_index":0,"item":{"id":"msg_sim","type":"message","status":"in_progress","content":[],"role":"assistant"}}),
        )],
        Ev::Word(word) => vec![e(
            "response.output_text.delta",
            json!({"item_id":"msg_sim","output_index":0,"content_index":0,"delta":word,"logprobs":[]}),
        )],
        Ev::TextEnd => vec![e(
            "response.output_item.done",
            json!({"output_index":0,"item":{"id":"msg_sim","type":"message","status":"completed",
                "content":[{"type":"output_text","annotations":[],"logprobs":[],"text":""}],"role":"assistant"}}),
        )],
        Ev::Call { index, id, name, input } => {
            let item = |arguments: &str, status: &str| json!({"id":format!("fc_{id}"),"type":"function_call","status":status,"arguments":arguments,"call_id":id,"name":name});
            let arguments = input.to_string();
            let (a, b) = arguments.split_at(arguments.len() / 2);
            let mut out = vec![e("response.output_item.added", json!({"output_index":index,"item":item("","in_progress")}))];
            for piece in [a, b] {
                out.push(e(
                    "response.function_call_arguments.delta",
                    json!({"item_id":format!("fc_{id}"),"output_index":index,"delta":piece}),
                ));
            }
            out.push(e("response.output_item.done", json!({"output_index":index,"item":item(&arguments,"completed")})));
            out
        }
        Ev::Error => vec![e(
            "error",
            json!({"code":"server_error","message":"The server had an error while processing your request.","param":null}),
        )],
        Ev::Malformed => vec!["event: response.output_text.delta\ndata: {\"type\":\"response.outp\n\n".into()],
        Ev::Finish { .. } => vec![e(
            "response.completed",
            json!({"response": response("completed", json!({"input_tokens":12,"input_tokens_details":{"cached_tokens":0},
                "output_tokens":20,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":32}))}),
        )],
    }
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn data(data: Value) -> String {
    format!("data: {data}\r\n\r\n")
}
