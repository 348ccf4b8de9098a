//! HTML reduced to readable text for the `fetch_url` tool: what a model
//! needs from a page is its words, not its markup, and every byte it reads
//! costs tokens.
//!
//! A single pass: tags are dropped; `script`, `style`, `noscript`,
//! `template`, `svg`, `iframe`, `object` and `canvas` elements are dropped
//! with their content, as are comments; block elements start a new line
//! (paragraph-like ones a blank line, list items `- `); common character
//! references are decoded; whitespace is collapsed. Left out: layout (tables
//! become lines of cells), `<pre>` whitespace, `alt` texts, links' targets,
//! and charsets other than UTF-8 (the caller decodes the bytes as UTF-8).

const SKIPPED: [&str; 8] = ["script", "style", "noscript", "template", "svg", "iframe", "object", "canvas"];
const PARAGRAPHS: [&str; 16] =
    ["p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre", "section", "article", "header", "footer"];
const LINES: [&str; 17] = [
    "br",
    "div",
    "tr",
    "title",
    "dd",
    "dt",
    "dl",
    "form",
    "main",
    "aside",
    "nav",
    "figure",
    "figcaption",
    "hr",
    "address",
    "fieldset",
    "details",
];

/// The readable text of an HTML document.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find(['<', '&']) {
        push_text(&mut out, &rest[..lt]);
        rest = &rest[lt..];
        if rest.starts_with('&') {
            let (decoded, len) = decode_reference(rest);
            push_text(&mut out, &decoded);
            rest = &rest[len..];
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
        } else if let Some((name, closing, len)) = tag(rest) {
            rest = &rest[len..];
            if !closing && SKIPPED.contains(&name.as_str()) {
                rest = skip_element(rest, &name);
            } else if name == "li" && !closing {
                out.push_str("\n- ");
            } else if PARAGRAPHS.contains(&name.as_str()) {
                out.push_str("\n\n");
            } else if LINES.contains(&name.as_str()) {
                out.push('\n');
            } else if matches!(name.as_str(), "td" | "th") {
                out.push(' ');
            }
        } else {
            push_text(&mut out, "<");
            rest = &rest[1..];
        }
    }
    push_text(&mut out, rest);
    collapse(&out)
}

/// Source text: every whitespace run is one space (HTML newlines are not
/// line breaks).
fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        out.push(if c.is_whitespace() { ' ' } else { c });
    }
}

/// `<name ...>` or `</name ...>` at the start of `s`: the lower-cased name,
/// whether it closes, and the length up to and including `>` (quotes in
/// attribute values respected). `None` if `s` does not start a tag.
fn tag(s: &str) -> Option<(String, bool, usize)> {
    let body = &s[1..];
    let (closing, body) = match body.strip_prefix('/') {
        Some(b) => (true, b),
        None => (false, body),
    };
    if !body.starts_with(|c: char| c.is_ascii_alphabetic()) && !body.starts_with('!') && !body.starts_with('?') {
        return None;
    }
    let name: String =
        body.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>().to_ascii_lowercase();
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some((name, closing, i + 1)),
            _ => {}
        }
    }
    Some((name, closing, s.len()))
}

/// What follows the end tag `</name>` (case-insensitive), or "" if none.
fn skip_element<'a>(s: &'a str, name: &str) -> &'a str {
    let needle = format!("</{name}");
    let lower = s.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&needle) {
        let at = from + i;
        let after = &lower[at + needle.len()..];
        if after.starts_with(|c: char| c == '>' || c.is_whitespace() || c == '/') {
            let end = s[at..].find('>').map_or(s.len(), |e| at + e + 1);
            return &s[end..];
        }
        from = at + needle.len();
    }
    ""
}

/// A character reference at the start of `s` (which starts with `&`): the
/// text it stands for and its length. Unknown ones stay as written.
fn decode_reference(s: &str) -> (String, usize) {
    let end = s.char_indices().take(12).find(|&(_, c)| c == ';').map(|(i, _)| i);
    let Some(end) = end else { return ("&".into(), 1) };
    let name = &s[1..end];
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        "copy" => Some('©'),
        "reg" => Some('®'),
        "trade" => Some('™'),
        "hellip" => Some('…'),
        "mdash" => Some('—'),
        "ndash" => Some('–'),
        "lsquo" => Some('‘'),
        "rsquo" => Some('’'),
        "ldquo" => Some('“'),
        "rdquo" => Some('”'),
        "deg" => Some('°'),
        "euro" => Some('€'),
        _ => name
            .strip_prefix('#')
            .and_then(|n| match n.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => n.parse().ok(),
            })
            .and_then(char::from_u32)
            .filter(|c| *c != '\0'),
    };
    match decoded {
        Some(c) => (c.to_string(), end + 1),
        None => ("&".into(), 1),
    }
}

/// Lines trimmed and inner spaces collapsed; at most one blank line in a
/// row; no blank lines at either end.
fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.split('\n') {
        let line = line.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_become_text() {
        let html = r#"<!DOCTYPE html><html><head><title>My  page</title>
            <style>body { color: red }</style><script>var x = "<p>no</p>";</script></head>
            <body><!-- a <b>comment</b> --><h1>Hello&nbsp;&amp; welcome</h1>
            <p>First   paragraph
            over two lines, <a href="/x?a=1&amp;b=2" title="a > b">a link</a>.</p>
            <ul><li>one</li><li>two &lt;3</li></ul><SCRIPT type="x">hidden()</SCRIPT >
            <div>caf&#233; &#x263A; &unknown; 3 < 4</div><svg><text>drawn</text></svg>end</body></html>"#;
        assert_eq!(
            html_to_text(html),
            "My page\n\nHello & welcome\n\nFirst paragraph over two lines, a link.\n\n- one\n- two <3\n\ncafé ☺ &unknown; 3 < 4\nend"
        );
    }

    #[test]
    fn unclosed_things_end_the_text() {
        assert_eq!(html_to_text("a<script>never closed"), "a");
        assert_eq!(html_to_text("a<!-- never closed"), "a");
        assert_eq!(html_to_text("a <b"), "a");
        assert_eq!(html_to_text("x &amp"), "x &amp");
    }
}
