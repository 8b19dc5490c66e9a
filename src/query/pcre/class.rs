//! Bracket classes `[...]` of a PCRE pattern, written for the `regex` crate: every ASCII
//! punctuation character escaped (the crate reads `[`, `&&`, `--` and `~~` as class syntax,
//! PCRE as characters), escape classes as nested ASCII classes, POSIX classes kept.

use super::{refuse, Translator, ASCII_DIGIT, ASCII_SPACE, ASCII_WORD};

enum Item {
    Char(char),
    /// Written as is: a nested class, a POSIX class or a Unicode property.
    Raw(String),
}

/// POSIX class names PCRE knows; those holding ASCII letters cannot be case-insensitive here
/// (the regex crate would fold U+212A KELVIN SIGN and U+017F LONG S into them, PCRE does not).
const POSIX: [(&str, bool); 14] = [
    ("alpha", true),
    ("alnum", true),
    ("ascii", true),
    ("blank", false),
    ("cntrl", false),
    ("digit", false),
    ("graph", true),
    ("lower", true),
    ("print", true),
    ("punct", false),
    ("space", false),
    ("upper", true),
    ("word", true),
    ("xdigit", false),
];

fn class_char(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || !c.is_ascii() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
}

impl Translator {
    /// After a `[`.
    pub(super) fn class(&mut self) -> Result<(), String> {
        let mut out = String::from("[");
        if self.peek(0) == Some('^') {
            self.at += 1;
            out.push('^');
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek(0) else {
                return Err("missing `]` at the end of a class".into());
            };
            self.at += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let mut items = self.class_items(c)?;
            // A range: one character, `-`, one character (a `-` before `]` is literal).
            if let [Item::Char(low)] = items[..] {
                if self.peek(0) == Some('-') && self.peek(1).is_some_and(|n| n != ']') {
                    self.at += 1;
                    let Some(next) = self.peek(0) else {
                        return Err("missing `]` at the end of a class".into());
                    };
                    self.at += 1;
                    let end = self.class_items(next)?;
                    let [Item::Char(high)] = end[..] else {
                        return refuse("a class range whose end is not one character");
                    };
                    if high < low {
                        return Err(format!("the class range {low:?}-{high:?} is out of order"));
                    }
                    class_char(&mut out, low);
                    out.push('-');
                    class_char(&mut out, high);
                    items.clear();
                }
            }
            for item in items {
                match item {
                    Item::Char(ch) => class_char(&mut out, ch),
                    Item::Raw(raw) => out.push_str(&raw),
                }
            }
        }
        out.push(']');
        self.out.push_str(&out);
        Ok(())
    }

    /// The items one class member `c` (already consumed) stands for.
    fn class_items(&mut self, c: char) -> Result<Vec<Item>, String> {
        if c == '[' && matches!(self.peek(0), Some('.' | '=')) {
            return refuse("a POSIX collating element");
        }
        if c == '[' && self.peek(0) == Some(':') {
            return self.posix().map(|raw| vec![Item::Raw(raw)]);
        }
        if c != '\\' {
            return Ok(vec![Item::Char(c)]);
        }
        let Some(e) = self.peek(0) else {
            return Err("a `\\` ends the pattern".into());
        };
        self.at += 1;
        let nested = |set: &str, negated: bool| {
            Item::Raw(format!("[{}{set}]", if negated { "^" } else { "" }))
        };
        Ok(match e {
            'd' | 'D' => vec![nested(ASCII_DIGIT, e == 'D')],
            's' | 'S' => vec![nested(ASCII_SPACE, e == 'S')],
            'w' | 'W' if self.flags.i => {
                return refuse("\\w or \\W inside a class with the i option");
            }
            'w' | 'W' => vec![nested(ASCII_WORD, e == 'W')],
            'b' => vec![Item::Char('\x08')],
            'E' => vec![],
            'Q' => {
                let mut chars = Vec::new();
                while let Some(q) = self.peek(0) {
                    if self.starts_with("\\E") {
                        self.at += 2;
                        break;
                    }
                    self.at += 1;
                    chars.push(Item::Char(q));
                }
                chars
            }
            'p' | 'P' => {
                if self.flags.i {
                    return refuse("a Unicode property (\\p) with the i option");
                }
                let property = self.property()?;
                vec![Item::Raw(format!("\\{e}{property}"))]
            }
            _ => vec![Item::Char(self.escaped_char(e)?)],
        })
    }

    /// After `[:` inside a class: `name:]` or `^name:]`.
    fn posix(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut name = String::new();
        while let Some(c) = self.peek(0) {
            self.at += 1;
            if c == ':' && self.peek(0) == Some(']') {
                self.at += 1;
                let bare = name.trim_start_matches('^');
                let Some(&(_, letters)) = POSIX.iter().find(|(n, _)| *n == bare) else {
                    return Err(format!("unknown POSIX class [:{name}:]"));
                };
                if letters && self.flags.i {
                    return refuse(&format!("[:{bare}:] with the i option"));
                }
                return Ok(format!("[:{name}:]"));
            }
            name.push(c);
        }
        Err("missing `:]` after a POSIX class name".into())
    }
}
