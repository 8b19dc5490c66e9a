//! `$regex` patterns: MongoDB's PCRE (PCRE2, UTF mode, without UCP) translated into the `regex`
//! crate's syntax, so that a pattern either matches exactly as mongod would or is refused.
//!
//! The `regex` crate matches in linear time whatever the document (no catastrophic
//! backtracking on hostile strings), and its compiled size is bounded here ([`SIZE_LIMIT`]).
//! What it cannot do, and is therefore refused with an error naming it: back-references
//! (`\1`, `\g{..}`, `\k<..>`, `(?P=..)`), look-ahead and look-behind (`(?=`, `(?!`, `(?<=`,
//! `(?<!`), atomic groups `(?>`, possessive quantifiers (`a*+`), recursion and subroutine calls
//! (`(?R)`, `(?1)`, `(?&name)`), conditionals `(?(`, branch reset `(?|`, callouts, backtracking
//! verbs `(*..)`, `\G`, `\K`, `\R`, `\X`, `\C`, `\N`, `\h`/`\H`, `\v`/`\V` (vertical space in
//! PCRE, a vertical tab in `regex`), `\c`, octal escapes, and inline options other than `i`,
//! `m`, `s` and `x`.
//!
//! What differs in meaning and is translated: `\d`, `\w`, `\s`, `\b` are ASCII in PCRE (no UCP)
//! and Unicode in `regex`, so they become explicit ASCII classes; `$` (and `\Z`) in PCRE also
//! matches before a newline that ends the text, which becomes `\n?\z`, allowed only where
//! nothing but the end of the pattern or of an alternative follows it (elsewhere it would
//! need a look-ahead); `x` mode is done here, as PCRE does it (whitespace inside a class
//! kept); `\Q..\E`, `\e`, `\xh`, `(?#..)` and literal `{`, `&&`, `--`, `~~`, `[`, `\<`, `\>`
//! are written as `regex` reads them. Refused because the two cannot agree: `^` in multi-line
//! mode (PCRE does not match it after a newline that ends the text, `regex` does),
//! case-insensitive classes holding `\w`, `\W` or POSIX letter classes (`regex` folds the
//! Kelvin sign and long s into them), and Unicode properties under `i`.

use regex::{Regex, RegexBuilder};

/// The most memory a compiled pattern may take (the `regex` crate's size limit), and twice
/// that for its lazy DFA cache.
pub(super) const SIZE_LIMIT: usize = 512 << 10;

/// The most regular expressions in one filter: with [`SIZE_LIMIT`], 24 MiB at most.
pub(super) const MAX_REGEXES: usize = 16;

/// A compiled `$regex`, with the pattern and options it came from (a regular expression value
/// in a document equals it when both are the same).
#[derive(Debug, Clone)]
pub(super) struct Pcre {
    pub pattern: String,
    pub options: String,
    regex: Regex,
}

impl Pcre {
    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// Compiles a pattern with MongoDB's options (`i`, `m`, `s`, `x`; `u` is accepted and changes
/// nothing, as in mongod). The error says what is refused, and why.
pub(super) fn compile(pattern: &str, options: &str) -> Result<Pcre, String> {
    let mut flags = Flags::default();
    for o in options.chars() {
        match o {
            'i' => flags.i = true,
            'm' => flags.m = true,
            's' => flags.s = true,
            'x' => flags.x = true,
            'u' => {}
            other => return Err(format!("invalid $regex option {other:?} (i, m, s, x, u)")),
        }
    }
    if pattern.contains('\0') {
        return Err("a regular expression cannot hold a NUL character".into());
    }
    let mut t = Translator {
        chars: pattern.chars().collect(),
        at: 0,
        out: String::with_capacity(pattern.len() * 2),
        flags,
        groups: Vec::new(),
        pending_end: false,
    };
    t.out.push_str(match (flags.i, flags.s) {
        (true, true) => "(?is)",
        (true, false) => "(?i)",
        (false, true) => "(?s)",
        (false, false) => "",
    });
    t.run()?;
    let regex = RegexBuilder::new(&t.out)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(2 * SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let why = e.to_string();
            let last = why
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            format!("{last} (as {:?})", t.out)
        })?;
    Ok(Pcre {
        pattern: pattern.to_string(),
        options: options.to_string(),
        regex,
    })
}

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    i: bool,
    m: bool,
    s: bool,
    x: bool,
}

/// An open group: the options to restore when it closes, and whether one of its alternatives
/// ended with an end anchor.
struct Group {
    flags: Flags,
    ended: bool,
}

struct Translator {
    chars: Vec<char>,
    at: usize,
    out: String,
    flags: Flags,
    groups: Vec<Group>,
    /// An end anchor was just written: only `|`, `)` or the end of the pattern may follow.
    pending_end: bool,
}

const ASCII_DIGIT: &str = "0-9";
const ASCII_WORD: &str = "0-9A-Za-z_";
const ASCII_SPACE: &str = r"\t\n\x0B\x0C\r ";

/// PCRE2's pattern whitespace in extended mode (UTF): ASCII space characters and the Unicode
/// Pattern_White_Space ones.
fn pattern_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\n'
            | '\x0B'
            | '\x0C'
            | '\r'
            | '\u{85}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

fn refuse<T>(what: &str) -> Result<T, String> {
    Err(format!(
        "{what} is not supported (the regex crate cannot match it as PCRE does)"
    ))
}

impl Translator {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(i, c)| self.peek(i) == Some(c))
    }

    /// Something other than `|`, `)` or the end is about to be written.
    fn token(&mut self) -> Result<(), String> {
        if self.pending_end {
            return Err(
                "`$` (or `\\Z`) is only supported at the end of the pattern or of an \
                 alternative: PCRE's `$` also matches before a final newline, which the regex \
                 crate can only express there (use the m option, or \\z)"
                    .into(),
            );
        }
        Ok(())
    }

    fn literal(&mut self, c: char) {
        if c.is_ascii_alphanumeric() || !c.is_ascii() {
            self.out.push(c);
        } else {
            self.out.push_str(&format!("\\x{{{:X}}}", c as u32));
        }
    }

    fn run(&mut self) -> Result<(), String> {
        while let Some(c) = self.peek(0) {
            self.at += 1;
            match c {
                _ if self.flags.x && pattern_space(c) => {}
                '#' if self.flags.x => {
                    while let Some(c) = self.peek(0) {
                        self.at += 1;
                        if c == '\n' {
                            break;
                        }
                    }
                }
                '\\' => self.escape()?,
                '[' => {
                    self.token()?;
                    self.class()?;
                }
                '(' => self.open()?,
                ')' => {
                    let Some(group) = self.groups.pop() else {
                        return Err("unmatched `)`".into());
                    };
                    self.flags = group.flags;
                    self.pending_end |= group.ended;
                    self.out.push(')');
                    // A quantifier after a group that ends with `$` falls to `token`.
                }
                '|' => {
                    if self.pending_end {
                        if let Some(group) = self.groups.last_mut() {
                            group.ended = true;
                        }
                    }
                    self.pending_end = false;
                    self.out.push('|');
                }
                '*' | '+' | '?' => {
                    self.token()?;
                    self.out.push(c);
                    self.quantifier_suffix()?;
                }
                '{' => {
                    self.token()?;
                    self.brace()?;
                }
                '^' => {
                    self.token()?;
                    if self.flags.m {
                        return refuse(
                            "`^` with the m option (PCRE does not match it after a newline \
                             that ends the text)",
                        );
                    }
                    self.out.push('^');
                }
                '$' => self.dollar()?,
                '.' => {
                    self.token()?;
                    self.out.push('.');
                }
                _ => {
                    self.token()?;
                    self.literal(c);
                }
            }
        }
        if !self.groups.is_empty() {
            return Err("missing `)`".into());
        }
        Ok(())
    }

    fn dollar(&mut self) -> Result<(), String> {
        self.token()?;
        if self.flags.m {
            self.out.push_str("(?m:$)");
        } else {
            self.out.push_str(r"(?:\n?\z)");
            self.pending_end = true;
        }
        Ok(())
    }

    /// After `*`, `+`, `?` or `{n,m}`: a lazy `?` passes, a possessive `+` is refused.
    fn quantifier_suffix(&mut self) -> Result<(), String> {
        match self.peek(0) {
            Some('+') => refuse("a possessive quantifier"),
            Some('?') => {
                self.at += 1;
                self.out.push('?');
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// `{`: a quantifier `{n}`, `{n,}`, `{n,m}`, or else a literal brace, as in PCRE.
    fn brace(&mut self) -> Result<(), String> {
        let rest: String = self.chars[self.at..].iter().take(24).collect();
        let Some(end) = rest.find('}') else {
            self.literal('{');
            return Ok(());
        };
        let body = &rest[..end];
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let valid = match body.split_once(',') {
            None => digits(body),
            Some((lo, hi)) if lo.is_empty() && digits(hi) => {
                return refuse("a `{,n}` quantifier (PCRE2 versions read it differently)");
            }
            Some((lo, hi)) => digits(lo) && (hi.is_empty() || digits(hi)),
        };
        if !valid {
            self.literal('{');
            return Ok(());
        }
        self.out.push('{');
        self.out.push_str(body);
        self.out.push('}');
        self.at += body.chars().count() + 1;
        self.quantifier_suffix()
    }

    fn open(&mut self) -> Result<(), String> {
        if self.starts_with("?#") {
            // A comment: to the first `)`.
            while let Some(c) = self.peek(0) {
                self.at += 1;
                if c == ')' {
                    return Ok(());
                }
            }
            return Err("missing `)` after a (?# comment".into());
        }
        self.token()?;
        let saved = self.flags;
        if self.peek(0) == Some('*') {
            return refuse("a backtracking verb `(*...)`");
        }
        if self.peek(0) != Some('?') {
            self.out.push('(');
            self.groups.push(Group {
                flags: saved,
                ended: false,
            });
            return Ok(());
        }
        self.at += 1;
        let refused = [
            ("=", "look-ahead"),
            ("!", "look-ahead"),
            ("<=", "look-behind"),
            ("<!", "look-behind"),
            (">", "an atomic group"),
            ("|", "a branch reset group"),
            ("(", "a conditional group"),
            ("R", "recursion"),
            ("&", "a subroutine call"),
            ("P>", "a subroutine call"),
            ("P=", "a back-reference"),
            ("C", "a callout"),
        ];
        for (start, what) in refused {
            if self.starts_with(start) {
                return refuse(what);
            }
        }
        let signed = matches!(self.peek(0), Some('+' | '-'))
            && self.peek(1).is_some_and(|c| c.is_ascii_digit());
        if signed || self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            return refuse("a subroutine call");
        }
        if self.starts_with(":") {
            self.at += 1;
            self.out.push_str("(?:");
            self.groups.push(Group {
                flags: saved,
                ended: false,
            });
            return Ok(());
        }
        for (start, close) in [("P<", '>'), ("<", '>'), ("'", '\'')] {
            if self.starts_with(start) {
                self.at += start.len();
                let mut name = String::new();
                while let Some(c) = self.peek(0) {
                    self.at += 1;
                    if c == close {
                        break;
                    }
                    name.push(c);
                }
                let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ok {
                    return Err(format!("invalid group name {name:?}"));
                }
                self.out.push_str(&format!("(?P<{name}>"));
                self.groups.push(Group {
                    flags: saved,
                    ended: false,
                });
                return Ok(());
            }
        }
        self.inline_options(saved)
    }

    /// `(?imsx-imsx)` or `(?imsx-imsx:...)`: i and s go to the regex crate, m and x are kept
    /// here.
    fn inline_options(&mut self, saved: Flags) -> Result<(), String> {
        let mut on = true;
        let mut passed = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err("missing `)` after inline options".into());
            };
            self.at += 1;
            match c {
                '-' => {
                    on = false;
                    passed.push('-');
                }
                'i' | 's' => {
                    if c == 'i' {
                        self.flags.i = on;
                    } else {
                        self.flags.s = on;
                    }
                    passed.push(c);
                }
                'm' => self.flags.m = on,
                'x' => self.flags.x = on,
                ')' | ':' => {
                    let passed = passed.trim_end_matches('-');
                    let scoped = c == ':';
                    if scoped {
                        self.out.push_str(&format!("(?{passed}:"));
                        self.groups.push(Group {
                            flags: saved,
                            ended: false,
                        });
                    } else if !passed.is_empty() {
                        self.out.push_str(&format!("(?{passed})"));
                    }
                    return Ok(());
                }
                other => return refuse(&format!("the inline option {other:?}")),
            }
        }
    }
}

mod class;
mod escape;
