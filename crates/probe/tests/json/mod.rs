//! A small JSON parser (RFC 8259) for checking output in tests; the crate has no dependencies
//! to lean on. It panics, naming the offset, on anything that is not one valid JSON document.

use std::collections::BTreeMap;

#[derive(Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.get(key),
            _ => None,
        }
    }

    pub fn text(&self, key: &str) -> &str {
        match self.get(key) {
            Some(Json::Text(text)) => text,
            other => panic!("{key} is not a string: {other:?}"),
        }
    }

    pub fn number(&self, key: &str) -> f64 {
        match self.get(key) {
            Some(Json::Number(number)) => *number,
            other => panic!("{key} is not a number: {other:?}"),
        }
    }
}

/// Parses one complete JSON document (RFC 8259), panicking with the offset on any error.
pub fn parse_json(text: &str) -> Json {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        at: 0,
    };
    let value = parser.value();
    parser.space();
    assert_eq!(parser.at, text.len(), "trailing bytes after the document");
    value
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, literal: &str) {
        let end = self.at + literal.len();
        assert_eq!(
            self.bytes.get(self.at..end),
            Some(literal.as_bytes()),
            "at {}",
            self.at
        );
        self.at = end;
    }

    fn peek(&mut self) -> u8 {
        self.space();
        *self
            .bytes
            .get(self.at)
            .unwrap_or_else(|| panic!("unexpected end"))
    }

    fn value(&mut self) -> Json {
        match self.peek() {
            b'{' => {
                self.expect("{");
                let mut fields = BTreeMap::new();
                if self.peek() != b'}' {
                    loop {
                        self.space();
                        let key = self.string();
                        self.space();
                        self.expect(":");
                        let value = self.value();
                        assert!(fields.insert(key, value).is_none(), "duplicate key");
                        if self.peek() == b'}' {
                            break;
                        }
                        self.expect(",");
                    }
                }
                self.expect("}");
                Json::Object(fields)
            }
            b'[' => {
                self.expect("[");
                let mut items = Vec::new();
                if self.peek() != b']' {
                    loop {
                        items.push(self.value());
                        if self.peek() == b']' {
                            break;
                        }
                        self.expect(",");
                    }
                }
                self.expect("]");
                Json::List(items)
            }
            b'"' => Json::Text(self.string()),
            b't' => {
                self.expect("true");
                Json::Bool(true)
            }
            b'f' => {
                self.expect("false");
                Json::Bool(false)
            }
            b'n' => {
                self.expect("null");
                Json::Null
            }
            _ => self.number(),
        }
    }

    pub fn number(&mut self) -> Json {
        let start = self.at;
        if self.bytes[self.at] == b'-' {
            self.at += 1;
        }
        let digits = |parser: &mut Self| {
            let first = parser.at;
            while parser.bytes.get(parser.at).is_some_and(u8::is_ascii_digit) {
                parser.at += 1;
            }
            assert!(parser.at > first, "digits expected at {first}");
        };
        if self.bytes.get(self.at) == Some(&b'0') {
            self.at += 1;
        } else {
            digits(self);
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            digits(self);
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            digits(self);
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).unwrap();
        Json::Number(text.parse().unwrap())
    }

    fn string(&mut self) -> String {
        self.expect("\"");
        let mut text = String::new();
        loop {
            let start = self.at;
            while !matches!(self.bytes[self.at], b'"' | b'\\') {
                assert!(
                    self.bytes[self.at] >= 0x20,
                    "raw control byte at {}",
                    self.at
                );
                self.at += 1;
            }
            text.push_str(std::str::from_utf8(&self.bytes[start..self.at]).unwrap());
            if self.bytes[self.at] == b'"' {
                self.at += 1;
                return text;
            }
            self.at += 1;
            let escaped = self.bytes[self.at];
            self.at += 1;
            match escaped {
                b'"' => text.push('"'),
                b'\\' => text.push('\\'),
                b'/' => text.push('/'),
                b'b' => text.push('\u{8}'),
                b'f' => text.push('\u{c}'),
                b'n' => text.push('\n'),
                b'r' => text.push('\r'),
                b't' => text.push('\t'),
                b'u' => {
                    let hex = std::str::from_utf8(&self.bytes[self.at..self.at + 4]).unwrap();
                    let code = u32::from_str_radix(hex, 16).unwrap();
                    self.at += 4;
                    text.push(char::from_u32(code).expect("no surrogates in these tests"));
                }
                other => panic!("bad escape {:?}", other as char),
            }
        }
    }
}
