//! Escapes outside bracket classes (`\d`, `\Q..\E`, `\x{..}`, ...), and the single-character
//! escapes classes share.

use super::{refuse, Translator, ASCII_DIGIT, ASCII_SPACE, ASCII_WORD};

impl Translator {
    /// After a `\` outside a class.
    pub(super) fn escape(&mut self) -> Result<(), String> {
        let Some(c) = self.peek(0) else {
            return Err("a `\\` ends the pattern".into());
        };
        self.at += 1;
        if c == 'Z' {
            return self.dollar_z();
        }
        if c == 'E' {
            return Ok(());
        }
        self.token()?;
        let class =
            |set: &str, negated: bool| format!("(?-i:[{}{set}])", if negated { "^" } else { "" });
        match c {
            'd' | 'D' => self.out.push_str(&class(ASCII_DIGIT, c == 'D')),
            'w' | 'W' => self.out.push_str(&class(ASCII_WORD, c == 'W')),
            's' | 'S' => self.out.push_str(&class(ASCII_SPACE, c == 'S')),
            'b' => self.out.push_str(r"(?-u:\b)"),
            'B' => self.out.push_str(r"(?-u:\B)"),
            'A' => self.out.push_str(r"\A"),
            'z' => self.out.push_str(r"\z"),
            'Q' => {
                while let Some(q) = self.peek(0) {
                    if self.starts_with("\\E") {
                        self.at += 2;
                        return Ok(());
                    }
                    self.at += 1;
                    self.literal(q);
                }
            }
            'p' | 'P' => {
                if self.flags.i {
                    return refuse("a Unicode property (\\p) with the i option");
                }
                let property = self.property()?;
                self.out.push_str(&format!("\\{c}{property}"));
            }
            _ => {
                let ch = self.escaped_char(c)?;
                self.literal(ch);
            }
        }
        Ok(())
    }

    fn dollar_z(&mut self) -> Result<(), String> {
        self.token()?;
        self.out.push_str(r"(?:\n?\z)");
        self.pending_end = true;
        Ok(())
    }

    /// The rest of a `\p` or `\P`: `L` or `{Name}`.
    pub(super) fn property(&mut self) -> Result<String, String> {
        match self.peek(0) {
            Some('{') => {
                let mut s = String::new();
                while let Some(c) = self.peek(0) {
                    self.at += 1;
                    s.push(c);
                    if c == '}' {
                        return Ok(s);
                    }
                }
                Err("missing `}` after \\p{".into())
            }
            Some(c) if c.is_ascii_alphabetic() => {
                self.at += 1;
                Ok(c.to_string())
            }
            _ => Err("\\p needs a property name".into()),
        }
    }

    /// The character an escape stands for, for the escapes that stand for one character.
    pub(super) fn escaped_char(&mut self, c: char) -> Result<char, String> {
        Ok(match c {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'f' => '\x0C',
            'a' => '\x07',
            'e' => '\x1B',
            'x' => self.hex()?,
            '0'..='9' => return refuse("a back-reference or octal escape"),
            'g' | 'k' => return refuse("a back-reference"),
            'G' | 'K' | 'R' | 'X' | 'C' | 'N' | 'h' | 'H' | 'v' | 'V' | 'c' | 'o' => {
                return refuse(&format!("\\{c}"));
            }
            c if c.is_ascii_alphanumeric() => {
                return Err(format!("unknown escape \\{c}"));
            }
            c => c,
        })
    }

    /// After `\x`: `{hhh}` or up to two hex digits (none is NUL, as in PCRE).
    fn hex(&mut self) -> Result<char, String> {
        let mut digits = String::new();
        if self.peek(0) == Some('{') {
            self.at += 1;
            while let Some(c) = self.peek(0) {
                self.at += 1;
                if c == '}' {
                    break;
                }
                digits.push(c);
            }
        } else {
            while digits.len() < 2 && self.peek(0).is_some_and(|c| c.is_ascii_hexdigit()) {
                digits.push(self.peek(0).unwrap_or('0'));
                self.at += 1;
            }
        }
        let code = if digits.is_empty() {
            Some(0)
        } else {
            u32::from_str_radix(&digits, 16).ok()
        };
        match code.and_then(char::from_u32) {
            Some('\0') => Err("a regular expression cannot hold a NUL character".into()),
            Some(ch) => Ok(ch),
            None => Err(format!("invalid \\x escape {digits:?}")),
        }
    }
}
