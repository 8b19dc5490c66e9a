//! Names made safe for a terminal, the way GNU tar prints them.

/// Escapes an archive name for display: printable UTF-8 stays as it is, `\` becomes `\\`, and
/// control characters and bytes that are not UTF-8 become C escapes (`\n`, `\t`, ...) or
/// three-digit octal (`\033`), as GNU tar's `--quoting-style=escape` prints them. A hostile
/// name then cannot move the cursor, clear the screen or forge another line.
///
/// # Examples
///
/// ```
/// use a0backup::archive::escape_name;
/// assert_eq!(escape_name(b"dump/users.bson"), "dump/users.bson");
/// assert_eq!(escape_name("café b".as_bytes()), "café b");
/// assert_eq!(escape_name(b"a\x1b[2Jb\n"), "a\\033[2Jb\\n");
/// assert_eq!(escape_name(b"x\xffy\\"), "x\\377y\\\\");
/// ```
pub fn escape_name(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\{b:03o}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\{b:03o}"));
        }
    }
    out
}
