//! The `calculator` tool: a small arithmetic evaluator, so the model gets
//! exact arithmetic without an `eval` (there is none in wasm, and none is
//! wanted for model-written input).
//!
//! Grammar, loosest binding first: `+ -`, then `* / %` (`%` is the
//! remainder, with the sign of the dividend, as in JavaScript), then unary
//! `-` / `+`, then `^` (also written `**`; right-associative, and its
//! exponent may carry a unary minus: `2^-1`). So `-2^2` is `-4`, as in
//! mathematics. Numbers are decimals (`3`, `0.5`, `.5`, `1e-3`); spaces are
//! ignored. Arithmetic is on doubles; the result is rounded to 15
//! significant digits, so `0.1 + 0.2` gives `0.3`. Left out: functions
//! (`sqrt`), constants (`pi`), implicit multiplication (`2(3)`), thousands
//! separators.

/// Input longer than this, or parentheses nested deeper than
/// [`MAX_DEPTH`], is refused (keeps the recursion bounded).
pub const MAX_LEN: usize = 1_000;
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalcError {
    #[error("empty expression")]
    Empty,
    /// `found` is a quoted character or "end of expression"; `column` is
    /// 1-based, in characters.
    #[error("syntax error at column {column}: unexpected {found}, expected {expected}")]
    Syntax { column: usize, found: String, expected: &'static str },
    #[error("division by zero")]
    DivisionByZero,
    #[error("the result is not a finite number (overflow, or an undefined operation such as a root of a negative number)")]
    NotFinite,
    #[error("expression too long or too deeply nested")]
    TooComplex,
}

/// Evaluates an arithmetic expression.
pub fn evaluate(expression: &str) -> Result<f64, CalcError> {
    if expression.chars().count() > MAX_LEN {
        return Err(CalcError::TooComplex);
    }
    let chars: Vec<char> = expression.chars().collect();
    let mut parser = Parser { chars, pos: 0 };
    parser.skip_ws();
    if parser.peek().is_none() {
        return Err(CalcError::Empty);
    }
    let value = parser.sum(0)?;
    parser.skip_ws();
    if parser.peek().is_some() {
        return Err(parser.unexpected("an operator"));
    }
    Ok(round_significant(value))
}

/// Rounds to 15 significant digits (what a double holds exactly), and
/// turns `-0` into `0`.
fn round_significant(x: f64) -> f64 {
    let rounded: f64 = format!("{x:.14e}").parse().unwrap_or(x);
    if rounded == 0.0 {
        0.0
    } else {
        rounded
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

fn finite(x: f64) -> Result<f64, CalcError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(CalcError::NotFinite)
    }
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// The next non-space character, not consumed.
    fn next_op(&mut self) -> Option<char> {
        self.skip_ws();
        self.peek()
    }

    fn unexpected(&self, expected: &'static str) -> CalcError {
        let found = match self.peek() {
            Some(c) => format!("'{c}'"),
            None => "end of expression".into(),
        };
        CalcError::Syntax { column: self.pos + 1, found, expected }
    }

    fn sum(&mut self, depth: usize) -> Result<f64, CalcError> {
        let mut value = self.product(depth)?;
        while let Some(op @ ('+' | '-')) = self.next_op() {
            self.pos += 1;
            let rhs = self.product(depth)?;
            value = finite(if op == '+' { value + rhs } else { value - rhs })?;
        }
        Ok(value)
    }

    fn product(&mut self, depth: usize) -> Result<f64, CalcError> {
        let mut value = self.unary(depth)?;
        while let Some(op @ ('*' | '/' | '%' | '×' | '÷')) = self.next_op() {
            self.pos += 1;
            let rhs = self.unary(depth)?;
            value = match op {
                '*' | '×' => value * rhs,
                _ if rhs == 0.0 => return Err(CalcError::DivisionByZero),
                '%' => value % rhs,
                _ => value / rhs,
            };
            value = finite(value)?;
        }
        Ok(value)
    }

    fn unary(&mut self, depth: usize) -> Result<f64, CalcError> {
        match self.next_op() {
            Some('-' | '−') => {
                self.pos += 1;
                self.nest(depth).and_then(|d| self.unary(d)).map(|v| -v)
            }
            Some('+') => {
                self.pos += 1;
                self.nest(depth).and_then(|d| self.unary(d))
            }
            _ => self.power(depth),
        }
    }

    fn power(&mut self, depth: usize) -> Result<f64, CalcError> {
        let base = self.primary(depth)?;
        let is_power = match self.next_op() {
            Some('^') => {
                self.pos += 1;
                true
            }
            Some('*') if self.chars.get(self.pos + 1) == Some(&'*') => {
                self.pos += 2;
                true
            }
            _ => false,
        };
        if !is_power {
            return Ok(base);
        }
        let exponent = self.nest(depth).and_then(|d| self.unary(d))?;
        if base == 0.0 && exponent < 0.0 {
            return Err(CalcError::DivisionByZero);
        }
        finite(base.powf(exponent))
    }

    fn nest(&self, depth: usize) -> Result<usize, CalcError> {
        if depth >= MAX_DEPTH {
            Err(CalcError::TooComplex)
        } else {
            Ok(depth + 1)
        }
    }

    fn primary(&mut self, depth: usize) -> Result<f64, CalcError> {
        match self.next_op() {
            Some('(') => {
                self.pos += 1;
                let value = self.sum(self.nest(depth)?)?;
                if self.next_op() != Some(')') {
                    return Err(self.unexpected("')'"));
                }
                self.pos += 1;
                Ok(value)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            _ => Err(self.unexpected("a number or '('")),
        }
    }

    fn number(&mut self) -> Result<f64, CalcError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos - from
        };
        let mut count = digits(self);
        if self.peek() == Some('.') {
            self.pos += 1;
            count += digits(self);
        }
        if count == 0 {
            self.pos = start;
            return Err(self.unexpected("a number or '('"));
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let mark = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                self.pos = mark; // `2e` is not an exponent: the `e` is left to fail
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        finite(text.parse::<f64>().map_err(|_| self.unexpected("a number"))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(s: &str) -> f64 {
        evaluate(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(eval("1 + 2 * 3"), 7.0);
        assert_eq!(eval("(1 + 2) * 3"), 9.0);
        assert_eq!(eval("10 - 4 - 3"), 3.0);
        assert_eq!(eval("64 / 4 / 2"), 8.0);
        assert_eq!(eval("2 ^ 3 ^ 2"), 512.0);
        assert_eq!(eval("2 ** 3 ** 2"), 512.0);
        assert_eq!(eval("(2 ^ 3) ^ 2"), 64.0);
        assert_eq!(eval("2 * 3 ^ 2"), 18.0);
        assert_eq!(eval("7 % 3 * 2"), 2.0);
        assert_eq!(eval("6 × 7 ÷ 2"), 21.0);
    }

    #[test]
    fn unary_minus() {
        assert_eq!(eval("-2 ^ 2"), -4.0);
        assert_eq!(eval("(-2) ^ 2"), 4.0);
        assert_eq!(eval("2 ^ -1"), 0.5);
        assert_eq!(eval("--3"), 3.0);
        assert_eq!(eval("-(1 + 2)"), -3.0);
        assert_eq!(eval("3 - -2"), 5.0);
        assert_eq!(eval("+4"), 4.0);
        assert_eq!(eval("-0"), 0.0);
        assert!(eval("-0").is_sign_positive());
    }

    #[test]
    fn decimals_and_rounding() {
        assert_eq!(eval("0.18 * 240"), 43.2);
        assert_eq!(eval("0.1 + 0.2"), 0.3);
        assert_eq!(eval(".5 + 1.25"), 1.75);
        assert_eq!(eval("1e3 + 2.5E-1"), 1000.25);
        assert_eq!(eval("-7 % 3"), -1.0);
        assert_eq!(eval("5.5 % 2"), 1.5);
        assert_eq!(eval("1 / 3"), 0.333333333333333);
        assert_eq!(eval("  ( ( 42 ) )  "), 42.0);
    }

    #[test]
    fn errors() {
        assert_eq!(evaluate("1 / 0"), Err(CalcError::DivisionByZero));
        assert_eq!(evaluate("1 / (2 - 2)"), Err(CalcError::DivisionByZero));
        assert_eq!(evaluate("5 % 0"), Err(CalcError::DivisionByZero));
        assert_eq!(evaluate("0 ^ -1"), Err(CalcError::DivisionByZero));
        assert_eq!(evaluate(""), Err(CalcError::Empty));
        assert_eq!(evaluate("   "), Err(CalcError::Empty));
        assert_eq!(evaluate("10 ^ 400"), Err(CalcError::NotFinite));
        assert_eq!(evaluate("1e308 * 10"), Err(CalcError::NotFinite));
        assert_eq!(evaluate("1e400"), Err(CalcError::NotFinite));
        assert_eq!(evaluate("(-8) ^ (1/3)"), Err(CalcError::NotFinite));
        let syntax = |s: &str| match evaluate(s) {
            Err(CalcError::Syntax { column, .. }) => column,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(syntax("2 +"), 4);
        assert_eq!(syntax("(1 + 2"), 7);
        assert_eq!(syntax("1 + 2)"), 6);
        assert_eq!(syntax("abc"), 1);
        assert_eq!(syntax("2 (3)"), 3);
        assert_eq!(syntax("2e"), 2);
        assert_eq!(syntax("1..2"), 3);
        assert_eq!(syntax("."), 1);
        assert_eq!(syntax("* 2"), 1);
        assert_eq!(
            evaluate("2 +").unwrap_err().to_string(),
            "syntax error at column 4: unexpected end of expression, expected a number or '('"
        );
    }

    #[test]
    fn bounded_input() {
        assert_eq!(evaluate(&format!("{}1{}", "(".repeat(100), ")".repeat(100))), Err(CalcError::TooComplex));
        assert_eq!(evaluate(&"-".repeat(200)), Err(CalcError::TooComplex));
        assert_eq!(evaluate(&"1+".repeat(600)), Err(CalcError::TooComplex));
        assert_eq!(eval(&format!("{}1{}", "(".repeat(30), ")".repeat(30))), 1.0);
    }
}
