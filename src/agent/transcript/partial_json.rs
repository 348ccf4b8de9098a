//! `parsePartialJson` of the AI SDK (`ai@7.0.173`, `src/util/fix-json.ts`
//! and `parse-partial-json.ts`): what a `tool-input-streaming` part shows as
//! `input` while the model is still writing the arguments.
//!
//! [`fix_json`] is a port of the SDK's repair state machine, run over UTF-16
//! code units as JavaScript indexes strings, so it cuts and closes a prefix
//! exactly where the SDK does. The repaired text is then parsed with
//! `serde_json` instead of `JSON.parse`, which differs only on input the
//! models do not send: a lone surrogate escape (`"\ud83d"`, which a cut in
//! the middle of an escaped emoji produces) makes the parse fail here (the
//! SDK keeps the lone surrogate) and nesting deeper than 128 levels fails
//! here. Numbers are made JavaScript numbers (doubles; an integral one is
//! stored as an integer, as `JSON.stringify` would write it). Like the SDK's
//! `secureJsonParse`, a value with a `__proto__` key or a `constructor`
//! object holding a `prototype` key counts as a failed parse.

use serde_json::Value;

/// The parsed (or repaired and parsed) value of a JSON prefix; `None` when
/// neither parses (the SDK's `failed-parse`, whose value is `undefined`).
pub fn parse_partial_json(text: &str) -> Option<Value> {
    secure_parse(text).or_else(|| secure_parse(&fix_json(text)))
}

fn secure_parse(text: &str) -> Option<Value> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    if has_forbidden_keys(&value) {
        return None;
    }
    js_numbers(&mut value);
    Some(value)
}

/// Every number as `JSON.parse` holds it: a double, so `-2.5e3` is the
/// integer `-2500` and `2^53 + 1` rounds to `2^53`.
fn js_numbers(value: &mut Value) {
    const SAFE: f64 = 9_007_199_254_740_992.0; // 2^53
    match value {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x.fract() == 0.0 && x.abs() <= SAFE {
                *value = Value::from(x as i64);
            } else if let Some(f) = serde_json::Number::from_f64(x) {
                *value = Value::Number(f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(js_numbers),
        Value::Object(map) => map.values_mut().for_each(js_numbers),
        _ => {}
    }
}

fn has_forbidden_keys(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.contains_key("__proto__")
                || matches!(map.get("constructor"), Some(Value::Object(c)) if c.contains_key("prototype"))
                || map.values().any(has_forbidden_keys)
        }
        Value::Array(items) => items.iter().any(has_forbidden_keys),
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Root,
    Finish,
    InsideString,
    InsideStringEscape,
    InsideStringUnicodeEscape,
    InsideLiteral,
    InsideNumber,
    InsideObjectStart,
    InsideObjectKey,
    InsideObjectAfterKey,
    InsideObjectBeforeValue,
    InsideObjectAfterValue,
    InsideObjectAfterComma,
    InsideArrayStart,
    InsideArrayAfterValue,
    InsideArrayAfterComma,
}

struct Fixer {
    stack: Vec<State>,
    /// One past the last code unit kept (the SDK's `lastValidIndex + 1`).
    keep: usize,
    literal_start: usize,
    unicode_digits: u8,
}

impl Fixer {
    fn top(&self) -> Option<State> {
        self.stack.last().copied()
    }

    fn swap_in(&mut self, swap: State, inner: State) {
        self.stack.pop();
        self.stack.push(swap);
        self.stack.push(inner);
    }

    fn value_start(&mut self, c: char, i: usize, swap: State) {
        let (inner, valid) = match c {
            '"' => (State::InsideString, true),
            'f' | 't' | 'n' => {
                self.literal_start = i;
                (State::InsideLiteral, true)
            }
            '-' => (State::InsideNumber, false),
            '0'..='9' => (State::InsideNumber, true),
            '{' => (State::InsideObjectStart, true),
            '[' => (State::InsideArrayStart, true),
            _ => return,
        };
        if valid {
            self.keep = i + 1;
        }
        self.swap_in(swap, inner);
    }

    fn after_object_value(&mut self, c: char, i: usize) {
        match c {
            ',' => {
                self.stack.pop();
                self.stack.push(State::InsideObjectAfterComma);
            }
            '}' => {
                self.keep = i + 1;
                self.stack.pop();
            }
            _ => {}
        }
    }

    fn after_array_value(&mut self, c: char, i: usize) {
        match c {
            ',' => {
                self.stack.pop();
                self.stack.push(State::InsideArrayAfterComma);
            }
            ']' => {
                self.keep = i + 1;
                self.stack.pop();
            }
            _ => {}
        }
    }

    fn step(&mut self, units: &[u16], i: usize) {
        // A surrogate maps to U+FFFD, which no case matches (as in the SDK).
        let c = char::from_u32(u32::from(units[i])).unwrap_or('\u{FFFD}');
        use State::*;
        match self.top() {
            Some(Root) => self.value_start(c, i, Finish),
            Some(InsideObjectStart) => match c {
                '"' => self.replace_top(InsideObjectKey),
                '}' => {
                    self.keep = i + 1;
                    self.stack.pop();
                }
                _ => {}
            },
            Some(InsideObjectAfterComma) if c == '"' => self.replace_top(InsideObjectKey),
            Some(InsideObjectKey) if c == '"' => self.replace_top(InsideObjectAfterKey),
            Some(InsideObjectAfterKey) if c == ':' => self.replace_top(InsideObjectBeforeValue),
            Some(InsideObjectBeforeValue) => self.value_start(c, i, InsideObjectAfterValue),
            Some(InsideObjectAfterValue) => self.after_object_value(c, i),
            Some(InsideString) => match c {
                '"' => {
                    self.stack.pop();
                    self.keep = i + 1;
                }
                '\\' => self.stack.push(InsideStringEscape),
                _ => self.keep = i + 1,
            },
            Some(InsideArrayStart) => match c {
                ']' => {
                    self.keep = i + 1;
                    self.stack.pop();
                }
                _ => self.value_start(c, i, InsideArrayAfterValue),
            },
            Some(InsideArrayAfterValue) => match c {
                ',' => self.replace_top(InsideArrayAfterComma),
                ']' => {
                    self.keep = i + 1;
                    self.stack.pop();
                }
                _ => self.keep = i + 1,
            },
            Some(InsideArrayAfterComma) => self.value_start(c, i, InsideArrayAfterValue),
            Some(InsideStringEscape) => {
                self.stack.pop();
                if c == 'u' {
                    self.unicode_digits = 0;
                    self.stack.push(InsideStringUnicodeEscape);
                } else {
                    self.keep = i + 1;
                }
            }
            Some(InsideStringUnicodeEscape) if c.is_ascii_hexdigit() => {
                self.unicode_digits += 1;
                if self.unicode_digits == 4 {
                    self.stack.pop();
                    self.keep = i + 1;
                }
            }
            Some(InsideNumber) => match c {
                '0'..='9' => self.keep = i + 1,
                'e' | 'E' | '-' | '.' => {}
                ',' => {
                    self.stack.pop();
                    if self.top() == Some(InsideArrayAfterValue) {
                        self.after_array_value(c, i);
                    }
                    if self.top() == Some(InsideObjectAfterValue) {
                        self.after_object_value(c, i);
                    }
                }
                '}' => {
                    self.stack.pop();
                    if self.top() == Some(InsideObjectAfterValue) {
                        self.after_object_value(c, i);
                    }
                }
                ']' => {
                    self.stack.pop();
                    if self.top() == Some(InsideArrayAfterValue) {
                        self.after_array_value(c, i);
                    }
                }
                _ => {
                    self.stack.pop();
                }
            },
            Some(InsideLiteral) => {
                let partial = String::from_utf16_lossy(&units[self.literal_start..=i]);
                if !["false", "true", "null"].iter().any(|l| l.starts_with(&partial)) {
                    self.stack.pop();
                    if self.top() == Some(InsideObjectAfterValue) {
                        self.after_object_value(c, i);
                    } else if self.top() == Some(InsideArrayAfterValue) {
                        self.after_array_value(c, i);
                    }
                } else {
                    self.keep = i + 1;
                }
            }
            _ => {}
        }
    }

    fn replace_top(&mut self, state: State) {
        self.stack.pop();
        self.stack.push(state);
    }
}

/// The SDK's `fixJson`: the longest valid-looking prefix of `input`, closed
/// (strings, objects, arrays, `tru` → `true`).
pub fn fix_json(input: &str) -> String {
    let units: Vec<u16> = input.encode_utf16().collect();
    let mut fixer = Fixer { stack: vec![State::Root], keep: 0, literal_start: 0, unicode_digits: 0 };
    for i in 0..units.len() {
        fixer.step(&units, i);
    }
    let mut result = String::from_utf16_lossy(&units[..fixer.keep]);
    for state in fixer.stack.iter().rev() {
        match state {
            State::InsideString => result.push('"'),
            State::InsideObjectKey
            | State::InsideObjectAfterKey
            | State::InsideObjectAfterComma
            | State::InsideObjectStart
            | State::InsideObjectBeforeValue
            | State::InsideObjectAfterValue => result.push('}'),
            State::InsideArrayStart | State::InsideArrayAfterComma | State::InsideArrayAfterValue => result.push(']'),
            State::InsideLiteral => {
                let partial = String::from_utf16_lossy(&units[fixer.literal_start..]);
                if let Some(rest) = ["true", "false", "null"].iter().find_map(|l| l.strip_prefix(partial.as_str())) {
                    result.push_str(rest);
                }
            }
            _ => {}
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prefixes_are_closed_as_the_sdk_closes_them() {
        // Expected values printed by the SDK's own `fixJson` (node_modules/ai).
        let cases = [
            ("", ""),
            ("{", "{}"),
            ("{\"ci", "{}"),
            ("{\"city\"", "{}"),
            ("{\"city\":", "{}"),
            ("{\"city\": \"Par", "{\"city\": \"Par\"}"),
            ("{\"a\": -", "{}"),
            ("{\"a\": -1", "{\"a\": -1}"),
            ("{\"a\": 1.", "{\"a\": 1}"),
            ("{\"a\": 1.5e", "{\"a\": 1.5}"),
            ("{\"a\": tr", "{\"a\": true}"),
            ("{\"a\": nul", "{\"a\": null}"),
            ("{\"a\": [1, 2", "{\"a\": [1, 2]}"),
            ("{\"a\": [1, {\"b\": \"x\\", "{\"a\": [1, {\"b\": \"x\"}]}"),
            ("{\"a\": \"\\u00", "{\"a\": \"\"}"),
            ("{\"a\": \"\\u00e9", "{\"a\": \"\\u00e9\"}"),
            ("[1,", "[1]"),
            ("{\"a\": 1, ", "{\"a\": 1}"),
            ("{\"a\": \"é😀", "{\"a\": \"é😀\"}"),
            ("{\"a\": trx", "{\"a\": tr}"),
            ("[true, fa", "[true, false]"),
            ("{\"a\":{\"b\":[[", "{\"a\":{\"b\":[[]]}}"),
            ("12", "12"),
            ("-", ""),
            ("\"abc", "\"abc\""),
        ];
        for (input, expected) in cases {
            assert_eq!(fix_json(input), expected, "fix_json({input:?})");
        }
    }

    #[test]
    fn partial_values() {
        assert_eq!(parse_partial_json("{\"city\": \"Par"), Some(json!({"city": "Par"})));
        assert_eq!(parse_partial_json("{\"a\": -"), Some(json!({})));
        assert_eq!(parse_partial_json("{\"a\": trx"), None);
        assert_eq!(parse_partial_json(""), None);
        assert_eq!(parse_partial_json("{\"a\":1}"), Some(json!({"a": 1})));
        assert_eq!(parse_partial_json("{\"__proto__\": {}}"), None);
        assert_eq!(parse_partial_json("{\"constructor\": {\"prototype\": 1}}"), None);
        assert_eq!(parse_partial_json("{\"constructor\": 1}"), Some(json!({"constructor": 1})));
        assert_eq!(parse_partial_json("[-2.5e3, 1.0, 0.5, 9007199254740993"), Some(json!([-2500, 1, 0.5, 9007199254740992_i64])));
    }
}
