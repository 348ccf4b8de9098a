//! Streamed tool calls of a Chat Completions response: a port of the AI
//! SDK's `StreamingToolCallTracker` (`@ai-sdk/provider-utils`), which
//! correlates `delta.tool_calls[]` entries by id, index and name, emits
//! `tool-input-start`/`-delta` as they arrive and finishes every call
//! (`tool-input-end`, `tool-call`) when the stream ends, in index order.

use std::collections::HashSet;

use super::decode::ToolCallDelta;
use crate::provider::part::StreamPart;

#[derive(Debug)]
struct ToolCall {
    id: String,
    index: f64,
    sequence: usize,
    name: String,
    arguments: String,
    state: ArgumentState,
    finished: bool,
}

enum Resolution {
    New,
    Existing(usize),
    Ambiguous,
}

/// A malformed tool call delta: the SDK throws, which ends the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct InvalidToolCall(pub String);

#[derive(Debug, Default)]
pub(super) struct ToolCallTracker {
    calls: Vec<ToolCall>,
    /// Wire id -> calls, in insertion order (a JS `Set`).
    by_id: Vec<(String, Vec<usize>)>,
    by_index: Vec<(f64, Vec<usize>)>,
    used_ids: HashSet<String>,
    generated: u64,
}

fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}

/// JavaScript's `\s` / `String.prototype.trim` white space.
pub(super) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
    )
}

fn non_blank(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !js_trim(s).is_empty())
}

fn starts_with_structured_value(s: Option<&str>) -> bool {
    s.and_then(|s| s.trim_start_matches(is_js_space).chars().next()).is_some_and(|c| c == '{' || c == '[')
}

impl ToolCallTracker {
    /// How many calls are tracked.
    pub(super) fn len(&self) -> usize {
        self.calls.len()
    }

    fn set_for<'a, K: PartialEq>(list: &'a [(K, Vec<usize>)], key: &K) -> Option<&'a Vec<usize>> {
        list.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn associate<K: PartialEq>(list: &mut Vec<(K, Vec<usize>)>, key: K, call: usize) {
        match list.iter_mut().find(|(k, _)| *k == key) {
            Some((_, set)) => {
                if !set.contains(&call) {
                    set.push(call);
                }
            }
            None => list.push((key, vec![call])),
        }
    }

    /// `processDelta`.
    pub(super) fn process(
        &mut self,
        delta: &ToolCallDelta,
        new_id: &mut dyn FnMut(u64) -> String,
        out: &mut Vec<StreamPart>,
    ) -> Result<(), InvalidToolCall> {
        let wire_name = delta.function.name.as_deref();
        let has_blank_name = wire_name.is_some_and(|n| js_trim(n).is_empty());
        let wire_id = non_blank(delta.id.as_deref());
        let name = non_blank(wire_name);
        let args = delta.function.arguments.as_deref();
        let index = delta.index;
        let resolution = self.resolve(
            wire_id,
            index,
            name,
            name.is_some() && starts_with_structured_value(args),
            args.is_none_or(|a| js_trim(a).is_empty()),
        );
        let call = match resolution {
            Resolution::Ambiguous => return Ok(()),
            Resolution::New => {
                if has_blank_name {
                    return Ok(());
                }
                let Some(name) = name else {
                    return Err(InvalidToolCall("Expected 'function.name' to be a string.".into()));
                };
                let id = self.create_id(wire_id, new_id);
                out.push(StreamPart::ToolInputStart { id: id.clone(), tool_name: name.to_string(), provider_metadata: None });
                let arguments = args.unwrap_or("").to_string();
                let call = self.calls.len();
                self.calls.push(ToolCall {
                    id: id.clone(),
                    index,
                    sequence: call,
                    name: name.to_string(),
                    state: ArgumentState::new(&arguments),
                    arguments,
                    finished: false,
                });
                if let Some(w) = wire_id {
                    Self::associate(&mut self.by_id, w.to_string(), call);
                }
                if !self.calls[call].arguments.is_empty() {
                    out.push(StreamPart::ToolInputDelta { id, delta: self.calls[call].arguments.clone() });
                }
                call
            }
            Resolution::Existing(call) => {
                if let Some(w) = wire_id {
                    Self::associate(&mut self.by_id, w.to_string(), call);
                }
                let tc = &mut self.calls[call];
                if !tc.finished {
                    if let Some(a) = args {
                        tc.state.append(a);
                        tc.arguments.push_str(a);
                        out.push(StreamPart::ToolInputDelta { id: tc.id.clone(), delta: a.to_string() });
                    }
                }
                call
            }
        };
        Self::associate(&mut self.by_index, index, call);
        Ok(())
    }

    /// `resolveToolCall` (every OpenAI delta has an index).
    fn resolve(
        &self,
        wire_id: Option<&str>,
        index: f64,
        name: Option<&str>,
        explicit_start: bool,
        empty_arguments: bool,
    ) -> Resolution {
        let indexed = Self::set_for(&self.by_index, &index);
        let matching_indexed: Vec<usize> = indexed
            .map(|set| set.iter().copied().filter(|&c| name.is_none_or(|n| self.calls[c].name == n)).collect())
            .unwrap_or_default();
        if let Some(wire_id) = wire_id {
            if let Some(with_id) = Self::set_for(&self.by_id, &wire_id.to_string()) {
                let matching: Vec<usize> = matching_indexed.iter().copied().filter(|c| with_id.contains(c)).collect();
                let m = self.resolve_matching(&matching, explicit_start);
                if !matches!(m, Resolution::New) {
                    return m;
                }
                if name.is_some() {
                    return Resolution::New;
                }
                if indexed.is_some() {
                    return Resolution::Ambiguous;
                }
                return self.resolve_matching(with_id, false);
            }
            if !matching_indexed.is_empty() {
                return if explicit_start {
                    Resolution::New
                } else {
                    self.resolve_matching(&matching_indexed, name.is_some() && empty_arguments)
                };
            }
            return Resolution::New;
        }
        if indexed.is_some() {
            return self.resolve_matching(&matching_indexed, explicit_start);
        }
        if name.is_some() {
            return Resolution::New;
        }
        let unfinished: Vec<usize> = (0..self.calls.len()).filter(|&c| !self.calls[c].finished).collect();
        self.resolve_matching(&unfinished, false)
    }

    fn resolve_matching(&self, calls: &[usize], explicit_start: bool) -> Resolution {
        if calls.is_empty() {
            return Resolution::New;
        }
        let continuable: Vec<usize> =
            calls.iter().copied().filter(|&c| !self.calls[c].state.has_complete_structured_value()).collect();
        if !explicit_start && calls.len() == 1 {
            return Resolution::Existing(calls[0]);
        }
        if continuable.len() == 1 {
            return Resolution::Existing(continuable[0]);
        }
        if continuable.len() > 1 || !explicit_start {
            return Resolution::Ambiguous;
        }
        Resolution::New
    }

    fn create_id(&mut self, wire_id: Option<&str>, new_id: &mut dyn FnMut(u64) -> String) -> String {
        if let Some(w) = wire_id {
            if self.used_ids.insert(w.to_string()) {
                return w.to_string();
            }
        }
        loop {
            let id = new_id(self.generated);
            self.generated += 1;
            if self.used_ids.insert(id.clone()) {
                return id;
            }
        }
    }

    /// `flush`: finishes the open calls, ordered by index, then arrival.
    pub(super) fn flush(&mut self, out: &mut Vec<StreamPart>) {
        let mut order: Vec<usize> = (0..self.calls.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&self.calls[a], &self.calls[b]);
            a.index.partial_cmp(&b.index).unwrap_or(std::cmp::Ordering::Equal).then(a.sequence.cmp(&b.sequence))
        });
        for c in order {
            let call = &mut self.calls[c];
            if call.finished {
                continue;
            }
            call.finished = true;
            out.push(StreamPart::ToolInputEnd { id: call.id.clone() });
            out.push(StreamPart::ToolCall {
                tool_call_id: call.id.clone(),
                tool_name: call.name.clone(),
                input: call.arguments.clone(),
                provider_metadata: None,
            });
        }
    }
}

/// `StreamingToolCallArgumentState`: whether the arguments so far hold a
/// complete JSON object or array (structurally, not by parsing).
#[derive(Debug)]
enum ArgumentState {
    Undetermined,
    Other,
    Structured { stack: Vec<char>, in_string: bool, escaped: bool, complete: bool },
}

impl ArgumentState {
    fn new(initial: &str) -> Self {
        let mut s = Self::Undetermined;
        s.append(initial);
        s
    }

    fn has_complete_structured_value(&self) -> bool {
        matches!(self, Self::Structured { complete: true, .. })
    }

    fn append(&mut self, delta: &str) {
        for c in delta.chars() {
            match self {
                Self::Undetermined => {
                    if is_js_space(c) {
                        continue;
                    }
                    *self = if c == '{' || c == '[' {
                        Self::Structured { stack: vec![c], in_string: false, escaped: false, complete: false }
                    } else {
                        Self::Other
                    };
                }
                Self::Other | Self::Structured { complete: true, .. } => {}
                Self::Structured { stack, in_string, escaped, complete } => {
                    if *in_string {
                        if *escaped {
                            *escaped = false;
                        } else if c == '\\' {
                            *escaped = true;
                        } else if c == '"' {
                            *in_string = false;
                        }
                        continue;
                    }
                    match c {
                        '"' => *in_string = true,
                        '{' | '[' => stack.push(c),
                        '}' | ']' => {
                            let opening = if c == '}' { '{' } else { '[' };
                            if stack.last() != Some(&opening) {
                                *self = Self::Other;
                                continue;
                            }
                            stack.pop();
                            if stack.is_empty() {
                                *complete = true;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_state_is_structural() {
        assert!(ArgumentState::new(r#" {"a": "}", "b": [1, {"c": "\"]"}]}"#).has_complete_structured_value());
        assert!(!ArgumentState::new(r#"{"a": ["#).has_complete_structured_value());
        assert!(!ArgumentState::new(r#"{"a": ]"#).has_complete_structured_value());
        assert!(!ArgumentState::new("42").has_complete_structured_value());
    }
}
