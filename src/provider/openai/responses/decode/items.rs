//! `response.output_item.added` / `.done`: messages, reasoning items and
//! function calls (with the `parallel` wrapper) open and close.

use serde_json::{json, Map, Value};

use super::super::parallel;
use super::super::schema::{encrypted_content, function_call, index, num_field, phase, str_field, MODELED_ITEMS};
use super::{meta, Ongoing, Reasoning, ResponsesDecoder, Summary};
use crate::provider::part::StreamPart;

use std::collections::BTreeMap;

impl ResponsesDecoder {
    /// `response.output_item.added`; `Ok(false)` for an item type the SDK
    /// does not model.
    pub(super) fn item_added(&mut self, v: &Value, out: &mut Vec<StreamPart>) -> Result<bool, String> {
        let Some((oi, item, item_type)) = modeled_item(v)? else { return Ok(false) };
        match item_type {
            "message" => {
                let id = str_field(item, "id")?.to_string();
                let phase = phase(item)?;
                self.output_items.insert(oi, id.clone());
                self.annotations.clear();
                self.message_phase = phase.clone();
                let mut m = Map::new();
                m.insert("itemId".into(), json!(id));
                if let Some(p) = phase {
                    m.insert("phase".into(), p);
                }
                out.push(StreamPart::TextStart { id, provider_metadata: meta(Value::Object(m)) });
            }
            "reasoning" => {
                let id = str_field(item, "id")?.to_string();
                let encrypted = encrypted_content(item)?;
                // Kept until the item is done: counted like held-back events.
                if !self.retain(id.len() + encrypted.as_ref().map_or(0, String::len)) {
                    return Ok(true);
                }
                self.output_items.insert(oi, id.clone());
                self.reasoning.insert(
                    id.clone(),
                    Reasoning { encrypted: encrypted.clone(), parts: BTreeMap::from([(0, Summary::Active)]) },
                );
                out.push(StreamPart::ReasoningStart {
                    id: format!("{id}:0"),
                    provider_metadata: meta(json!({ "itemId": id, "reasoningEncryptedContent": encrypted })),
                });
            }
            "function_call" => {
                let (call_id, name) = function_call(item)?;
                if !self.retain(call_id.len() + name.len()) {
                    return Ok(true);
                }
                let wrapper = parallel::is_undeclared(&name, &self.tools);
                if !wrapper {
                    out.push(StreamPart::ToolInputStart {
                        id: call_id.clone(),
                        tool_name: name.clone(),
                        provider_metadata: None,
                    });
                }
                let async_flag = item.get("async").filter(|a| a.is_boolean()).cloned();
                self.tool_calls.insert(oi, Ongoing { call_id, name, buffered: wrapper.then(Vec::new), async_flag });
            }
            _ => {}
        }
        Ok(true)
    }

    /// `response.output_item.done`; `Ok(false)` for an item type the SDK
    /// does not model.
    pub(super) fn item_done(&mut self, v: &Value, out: &mut Vec<StreamPart>) -> Result<bool, String> {
        let Some((oi, item, item_type)) = modeled_item(v)? else { return Ok(false) };
        match item_type {
            "message" => {
                let wire_id = str_field(item, "id")?.to_string();
                let phase = phase(item)?.or_else(|| self.message_phase.take());
                self.message_phase = None;
                let id = self.output_items.remove(&oi).unwrap_or(wire_id);
                let mut m = Map::new();
                m.insert("itemId".into(), json!(id));
                if let Some(p) = phase {
                    m.insert("phase".into(), p);
                }
                if !self.annotations.is_empty() {
                    m.insert("annotations".into(), Value::Array(std::mem::take(&mut self.annotations)));
                }
                out.push(StreamPart::TextEnd { id, provider_metadata: meta(Value::Object(m)) });
            }
            "reasoning" => {
                let wire_id = str_field(item, "id")?.to_string();
                let encrypted = encrypted_content(item)?;
                let id = self.output_items.remove(&oi).unwrap_or(wire_id);
                if let Some(r) = self.reasoning.remove(&id) {
                    for (n, status) in &r.parts {
                        if matches!(status, Summary::Active | Summary::CanConclude) {
                            out.push(StreamPart::ReasoningEnd {
                                id: format!("{id}:{n}"),
                                provider_metadata: meta(json!({ "itemId": id, "reasoningEncryptedContent": encrypted })),
                            });
                        }
                    }
                }
            }
            "function_call" => {
                let (call_id, name) = function_call(item)?;
                let arguments = str_field(item, "arguments")?.to_string();
                let item_id = str_field(item, "id")?.to_string();
                match item.get("status").and_then(Value::as_str) {
                    Some("in_progress" | "completed" | "incomplete") => {}
                    _ => return Err("`item.status` must be in_progress, completed or incomplete".into()),
                }
                let ongoing = self.tool_calls.remove(&oi);
                self.has_function_call = true;
                self.function_call_done(item, call_id, name, arguments, item_id, ongoing, out);
            }
            _ => {}
        }
        Ok(true)
    }

    /// A function call is complete: the call, or the calls a `parallel`
    /// wrapper expands to.
    #[allow(clippy::too_many_arguments)]
    fn function_call_done(
        &mut self,
        item: &Value,
        call_id: String,
        name: String,
        arguments: String,
        item_id: String,
        ongoing: Option<Ongoing>,
        out: &mut Vec<StreamPart>,
    ) {
        let wrapper = ongoing.as_ref().map_or_else(|| parallel::is_undeclared(&name, &self.tools), |o| o.buffered.is_some());
        if wrapper {
            if let Some(calls) = parallel::expand(&call_id, &arguments, &item_id, &self.tools) {
                for (id, tool_name, input, meta) in calls {
                    out.push(StreamPart::ToolInputStart {
                        id: id.clone(),
                        tool_name: tool_name.clone(),
                        provider_metadata: None,
                    });
                    out.push(StreamPart::ToolInputDelta { id: id.clone(), delta: input.clone() });
                    out.push(StreamPart::ToolInputEnd { id: id.clone() });
                    out.push(StreamPart::ToolCall { tool_call_id: id, tool_name, input, provider_metadata: Some(meta) });
                }
                return;
            }
            // Not expandable: the wrapper as it is, its input at once.
            out.push(StreamPart::ToolInputStart { id: call_id.clone(), tool_name: name.clone(), provider_metadata: None });
            let buffered = ongoing.as_ref().and_then(|o| o.buffered.clone()).unwrap_or_default();
            if !buffered.is_empty() {
                for delta in buffered {
                    out.push(StreamPart::ToolInputDelta { id: call_id.clone(), delta });
                }
            } else if !arguments.is_empty() {
                out.push(StreamPart::ToolInputDelta { id: call_id.clone(), delta: arguments.clone() });
            }
        }
        out.push(StreamPart::ToolInputEnd { id: call_id.clone() });
        let mut m = Map::new();
        m.insert("itemId".into(), json!(item_id));
        if let Some(a) = item.get("async").filter(|a| a.is_boolean()).cloned().or_else(|| ongoing.and_then(|o| o.async_flag)) {
            m.insert("async".into(), a);
        }
        if let Some(n) = item.get("namespace").filter(|n| !n.is_null()) {
            m.insert("namespace".into(), n.clone());
        }
        if let Some(c) = item.get("caller").filter(|c| c.is_object()) {
            let caller = match c.get("type").and_then(Value::as_str) {
                Some("program") => json!({ "type": "program", "callerId": c.get("caller_id") }),
                _ => json!({ "type": c.get("type") }),
            };
            m.insert("caller".into(), caller);
        }
        out.push(StreamPart::ToolCall {
            tool_call_id: call_id,
            tool_name: name,
            input: arguments,
            provider_metadata: meta(Value::Object(m)),
        });
    }
}

/// An item event's output index, item and type; `None` for an item type the
/// SDK does not model.
fn modeled_item(v: &Value) -> Result<Option<(u64, &Value, &str)>, String> {
    let oi = index(num_field(v, "output_index")?)?;
    let item = v.get("item").filter(|i| i.is_object()).ok_or("`item` must be an object")?;
    let Some(item_type) = item.get("type").and_then(Value::as_str) else {
        return Err("`item.type` must be a string".into());
    };
    Ok(MODELED_ITEMS.contains(&item_type).then_some((oi, item, item_type)))
}
