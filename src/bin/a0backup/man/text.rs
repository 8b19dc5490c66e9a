//! A page as plain text, for a terminal without `man`: the few roff requests and escapes the
//! pages use (`.TH .SH .PP .TP .RS .RE .nf .fi .br`, fonts, `\-`, `\e`, `\&`, `\(aq`,
//! `\*(Aq`, unbreakable spaces), filled to the terminal's width as man would, with the same
//! indents (sections' text at 7 columns, a `.TP` paragraph's text at 14).

/// The indent of a section's text, and of a `.TP` paragraph's text under its tag.
const INDENT: usize = 7;
const TAG_INDENT: usize = 7;

/// A placeholder for an unbreakable space while lines are filled.
const NBSP: char = '\u{a0}';

/// `roff` as text lines of at most `width` columns (a word longer than that stands alone).
pub fn render(roff: &str, width: usize) -> String {
    let mut out = Output {
        text: String::new(),
        width: width.max(40),
        words: Vec::new(),
        indent: INDENT,
        fill: true,
    };
    // The indent of `.RS` blocks, and of the text under a `.TP` tag.
    let mut base = INDENT;
    let mut tag_next = false;
    for line in roff.lines() {
        let (request, args) = match line.strip_prefix('.') {
            Some(rest) => rest.split_once(' ').unwrap_or((rest, "")),
            None => ("", line),
        };
        match request {
            "" => {
                let text = unescape(args);
                if tag_next {
                    // A `.TP` tag stands on its own line; the paragraph follows, indented.
                    out.line_at(base, &text);
                    out.indent = base + TAG_INDENT;
                    tag_next = false;
                } else if out.fill {
                    out.words
                        .extend(text.split(' ').filter(|w| !w.is_empty()).map(String::from));
                } else {
                    out.line_at(out.indent, &text);
                }
            }
            "TH" => {
                let title = args.split_whitespace().take(2).collect::<Vec<_>>();
                if let [name, section] = title[..] {
                    out.text
                        .push_str(&format!("{}({section})\n", unescape(name)));
                }
            }
            "SH" => {
                out.flush();
                base = INDENT;
                out.indent = base;
                out.text.push('\n');
                out.text.push_str(&unescape(args.trim_matches('"')));
                out.text.push('\n');
            }
            "PP" | "LP" | "P" => {
                out.paragraph();
                out.indent = base;
            }
            "TP" => {
                out.paragraph();
                tag_next = true;
            }
            "RS" => {
                out.flush();
                base = out.indent + args.trim().parse::<usize>().unwrap_or(INDENT);
                out.indent = base;
            }
            "RE" => {
                out.flush();
                base = INDENT;
                out.indent = base;
            }
            "nf" => {
                out.flush();
                out.fill = false;
            }
            "fi" => out.fill = true,
            "br" => out.flush(),
            // .ie/.el/.ds (the quote string), .nr/.nh/.hy/.ad: nothing to show.
            _ => {}
        }
    }
    out.flush();
    out.text
}

struct Output {
    text: String,
    width: usize,
    /// The words of the line being filled.
    words: Vec<String>,
    indent: usize,
    fill: bool,
}

impl Output {
    /// The words so far, filled into lines at the indent.
    fn flush(&mut self) {
        let mut line = String::new();
        for word in self.words.drain(..) {
            let len = |s: &str| s.chars().count();
            if !line.is_empty() && self.indent + len(&line) + 1 + len(&word) > self.width {
                self.text
                    .push_str(&format!("{:1$}{line}\n", "", self.indent).replace(NBSP, " "));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        if !line.is_empty() {
            self.text
                .push_str(&format!("{:1$}{line}\n", "", self.indent).replace(NBSP, " "));
        }
    }

    /// A blank line between paragraphs (none at the top of a section).
    fn paragraph(&mut self) {
        self.flush();
        if !self.text.ends_with("\n\n") && !self.text.is_empty() && !self.last_is_heading() {
            self.text.push('\n');
        }
    }

    fn last_is_heading(&self) -> bool {
        let last = self
            .text
            .trim_end_matches('\n')
            .rsplit('\n')
            .next()
            .unwrap_or("");
        !last.is_empty() && !last.starts_with(' ')
    }

    /// One line as it is, at `indent`.
    fn line_at(&mut self, indent: usize, text: &str) {
        self.flush();
        self.text
            .push_str(&format!("{:1$}{text}\n", "", indent).replace(NBSP, " "));
    }
}

/// A line's text without its escapes.
fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => {
                // \fB, \fI, \fR, \fP; \f(XX and \f[...] too.
                match chars.next() {
                    Some('(') => {
                        chars.next();
                        chars.next();
                    }
                    Some('[') => while chars.next().is_some_and(|c| c != ']') {},
                    _ => {}
                }
            }
            Some('-') => out.push('-'),
            Some('e') | Some('\\') => out.push('\\'),
            Some('&') => {}
            Some(' ') | Some('~') => out.push(NBSP),
            Some('(') => {
                let name: String = chars.by_ref().take(2).collect();
                out.push_str(special(&name));
            }
            Some('*') => {
                // \*(Aq, \*[name], \*x: the pages' one string is the quote.
                match chars.next() {
                    Some('(') => {
                        chars.next();
                        chars.next();
                    }
                    Some('[') => while chars.next().is_some_and(|c| c != ']') {},
                    _ => {}
                }
                out.push('\'');
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// A `\(xx` character by its name.
fn special(name: &str) -> &'static str {
    match name {
        "aq" => "'",
        "dq" => "\"",
        "em" => "--",
        "en" | "hy" => "-",
        "bu" => "*",
        "lq" | "rq" => "\"",
        "oq" | "cq" => "'",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_as_man_would_show_it() {
        let roff = "\
.ie \\n(.g .ds Aq \\(aq
.el .ds Aq '
.TH a0backup-check 1  \"a0backup 0.1.0\" \"a0backup manual\"
.nr HY 0
.nh
.SH NAME
a0backup\\-check \\- Check that a backup would restore
.SH SYNOPSIS
.ad l
\\fBa0backup check\\fR [\\fB\\-\\-md5\\fR\\ \\fIHEX\\fR | \\fB\\-\\-status\\fR\\ \\fIFILE\\fR] \\fIINPUT\\fR
.ad
.SH OPTIONS
.TP
\\fB\\-\\-allow\\-symlinks\\fR
Accept symlinks that resolve inside the restored tree, as restore\\*(Aqs \\-\\-allow\\-symlinks would (refused by default)
.TP
\\fB\\-p\\fR, \\fB\\-\\-preserve\\-permissions\\fR
No effect on check
.SH EXAMPLES
.nh
.PP
The collection table as JSON:
.PP
.RS 4
.nf
a0backup \\-\\-json check \\-\\-password\\-env A0_PW backup\\-retrieve.tar.gz.enc
.fi
.RE
";
        let want = "\
a0backup-check(1)

NAME
       a0backup-check - Check that a backup would restore

SYNOPSIS
       a0backup check [--md5 HEX | --status FILE] INPUT

OPTIONS
       --allow-symlinks
              Accept symlinks that resolve inside the restored tree,
              as restore's --allow-symlinks would (refused by default)

       -p, --preserve-permissions
              No effect on check

EXAMPLES
       The collection table as JSON:

           a0backup --json check --password-env A0_PW backup-retrieve.tar.gz.enc
";
        assert_eq!(render(roff, 70), want);
    }

    #[test]
    fn an_option_and_its_value_stay_on_one_line() {
        let roff = ".SH SYNOPSIS\n\\fBa0backup check\\fR [\\fB\\-\\-md5\\fR\\ \\fIHEX\\fR | \\fB\\-\\-status\\fR\\ \\fIFILE\\fR] \\fIINPUT\\fR\n";
        assert_eq!(
            render(roff, 45),
            "\nSYNOPSIS\n       a0backup check [--md5 HEX |\n       --status FILE] INPUT\n"
        );
    }
}
