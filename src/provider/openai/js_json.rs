//! `JSON.stringify` of a parsed JSON value, byte for byte as V8 writes it.
//!
//! `serde_json::to_string` differs from it in two ways that reach request
//! bodies: numbers (JavaScript has only doubles: `1.0` is written `1`,
//! `1e21` as `1e+21`, integers beyond 2^53 lose precision) and key order
//! (a JavaScript object lists its array-index keys, `"0"`, `"17"`, first and
//! in ascending order, then the other keys in insertion order). Strings are
//! escaped the same way by both.

use serde_json::{Map, Number, Value};

/// `JSON.stringify(value)`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

fn write_object(map: &Map<String, Value>, out: &mut String) {
    out.push('{');
    let mut first = true;
    let mut entry = |k: &str, v: &Value, out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
        write_str(k, out);
        out.push(':');
        write_value(v, out);
    };
    let mut indices: Vec<(u32, &str, &Value)> =
        map.iter().filter_map(|(k, v)| array_index(k).map(|i| (i, k.as_str(), v))).collect();
    if indices.is_empty() {
        for (k, v) in map {
            entry(k, v, out);
        }
    } else {
        indices.sort_by_key(|(i, _, _)| *i);
        for (_, k, v) in &indices {
            entry(k, v, out);
        }
        for (k, v) in map.iter().filter(|(k, _)| array_index(k).is_none()) {
            entry(k, v, out);
        }
    }
    out.push('}');
}

/// A canonical array index (`0`..=`2^32 - 2`, no leading zeros).
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || key.len() > 10 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if key.len() > 1 && key.starts_with('0') {
        return None;
    }
    key.parse::<u64>().ok().filter(|&n| n < u32::MAX as u64).map(|n| n as u32)
}

fn write_str(s: &str, out: &mut String) {
    // serde_json escapes exactly what JSON.stringify escapes (`"`, `\`,
    // control characters; \b \f \n \r \t short forms, else lower-case \u00xx).
    out.push_str(&serde_json::to_string(s).expect("a string serializes"));
}

fn write_number(n: &Number, out: &mut String) {
    const SAFE: u64 = 1 << 53;
    if let Some(u) = n.as_u64() {
        if u <= SAFE {
            out.push_str(&u.to_string());
            return;
        }
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= SAFE {
            out.push_str(&i.to_string());
            return;
        }
    }
    out.push_str(&js_number(n.as_f64().unwrap_or(f64::NAN)));
}

/// `Number.prototype.toString()` of a double (ECMA-262 Number::toString).
pub fn js_number(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    // Rust's `{:e}` writes the shortest digits that round-trip, as V8 does.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp + 1;
    let mut out = String::new();
    if x < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        let e = n - 1;
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if e >= 0 { '+' } else { '-' });
        out.push_str(&e.abs().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_as_javascript_writes_them() {
        let cases = [
            (1.0, "1"),
            (43.2, "43.2"),
            (-0.5, "-0.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123456789.125, "123456789.125"),
            (2.5e300, "2.5e+300"),
            (-0.0, "0"),
        ];
        for (x, s) in cases {
            assert_eq!(js_number(x), s, "{x}");
        }
        let v: Value = serde_json::from_str(r#"[1.0, 240.50, 9007199254740993, -7, 1E2]"#).unwrap();
        assert_eq!(to_string(&v), "[1,240.5,9007199254740992,-7,100]");
    }

    #[test]
    fn index_keys_come_first_in_ascending_order() {
        let v: Value = serde_json::from_str(r#"{"b":1,"10":2,"a":{"2":0,"1":0},"01":3,"1":4}"#).unwrap();
        assert_eq!(to_string(&v), r#"{"1":4,"10":2,"b":1,"a":{"1":0,"2":0},"01":3}"#);
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        let v = json!({"s": "a\"b\\c\n\t\u{1}\u{7f}\u{2028}é😀"});
        assert_eq!(to_string(&v), "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\u{7f}\u{2028}é😀\"}");
    }
}
