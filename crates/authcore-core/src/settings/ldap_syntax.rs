//! The LDAP syntax the directory's checks accept, as regular expressions: what the OpenAPI
//! document states for the `ldap` object's DNs, template and group attribute and for a
//! mapping's `dn` when a [`super::DirectoryControl`] is configured.
//!
//! The patterns are the grammar of `authcore-ldap`'s RFC 4514 DN parser (the directory's
//! `check` and `is_dn`), written once here from named pieces, in the syntax common to
//! ECMA-262, Python's `re` and Rust's `regex` (what OpenAPI clients and validators run).
//! `tests/openapi.rs` checks that each accepts exactly what the real directory accepts.
//!
//! The DN grammar: RDNs separated by `,`, each one or more `type=value` joined by `+`; spaces
//! (U+0020) tolerated around `,`, `+` and `=` and at both ends; a type is a name (a letter,
//! then letters, digits, `-`) or a numeric OID; a value is `#` and an even, non-zero number of
//! hex digits, or a string: any character but `,` `+` `"` `\` `;` `<` `>` and NUL, or an
//! escape (`\` and one of ` "#+,;<=>\`, or `\` and two hex digits), not starting with an
//! unescaped space or `#`, its hex escapes spelling whole UTF-8 characters.

/// Unicode `White_Space` (what Rust's `str::trim` removes), for a character class.
macro_rules! ws {
    () => {
        r"\u0009-\u000d \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// An escaped continuation byte (`\80` to `\BF`).
macro_rules! cont {
    () => {
        r"\\[89ABab][0-9A-Fa-f]"
    };
}

/// One UTF-8 character spelt as hex escapes (RFC 3629: no overlong form, no surrogate,
/// nothing above U+10FFFF).
macro_rules! utf8_escape {
    () => {
        concat!(
            r"\\[0-7][0-9A-Fa-f]",
            r"|\\(?:[Cc][2-9A-Fa-f]|[Dd][0-9A-Fa-f])",
            cont!(),
            r"|\\[Ee]0\\[ABab][0-9A-Fa-f]",
            cont!(),
            r"|\\[Ee][1-9A-Ca-cEeFf]",
            cont!(),
            cont!(),
            r"|\\[Ee][Dd]\\[89][0-9A-Fa-f]",
            cont!(),
            r"|\\[Ff]0\\[9ABab][0-9A-Fa-f]",
            cont!(),
            cont!(),
            r"|\\[Ff][1-3]",
            cont!(),
            cont!(),
            cont!(),
            r"|\\[Ff]4\\8[0-9A-Fa-f]",
            cont!(),
            cont!(),
        )
    };
}

/// An escape in a value.
macro_rules! escape {
    () => {
        concat!(r##"(?:\\[ "#+,;<=>\\]|"##, utf8_escape!(), ")")
    };
}

/// An escape that does not spell a trailing space (`\ `).
macro_rules! escape_not_space {
    () => {
        concat!(r##"(?:\\["#+,;<=>\\]|"##, utf8_escape!(), ")")
    };
}

/// An unescaped character of a string value.
macro_rules! raw {
    () => {
        r#"[^,+"\\;<>\u0000]"#
    };
}

/// The first character of a string value (neither a space nor `#`).
macro_rules! raw_first {
    () => {
        r#"[^,+"\\;<>\u0000 #]"#
    };
}

/// An unescaped character of a string value that is not white space.
macro_rules! raw_not_ws {
    () => {
        concat!(r#"[^,+"\\;<>\u0000"#, ws!(), "]")
    };
}

/// The first character of a string value when it is also the last (not white space, not `#`).
macro_rules! raw_first_not_ws {
    () => {
        concat!(r#"[^,+"\\;<>\u0000#"#, ws!(), "]")
    };
}

/// One character of a string value after its first: unescaped or an escape.
macro_rules! value_char {
    () => {
        concat!("(?:", raw!(), "|", escape!(), ")")
    };
}

/// A non-empty string value: its first character, then any characters.
macro_rules! nonempty_text {
    () => {
        concat!("(?:", raw_first!(), "|", escape!(), ")", value_char!(), "*")
    };
}

/// A string value (possibly empty).
macro_rules! text {
    () => {
        concat!("(?:", nonempty_text!(), ")?")
    };
}

/// A string value that does not end in white space (possibly empty): one character that is
/// both first and last, or a longer value whose last character is no white space.
macro_rules! text_not_ending_in_ws {
    () => {
        concat!(
            "(?:",
            raw_first_not_ws!(),
            "|",
            escape_not_space!(),
            "|",
            nonempty_text!(),
            "(?:",
            raw_not_ws!(),
            "|",
            escape_not_space!(),
            "))?"
        )
    };
}

/// An unescaped character of a string value other than `%`.
macro_rules! raw_not_pct {
    () => {
        r#"[^,+"\\;<>\u0000%]"#
    };
}

/// The first character of a string value other than `%`.
macro_rules! raw_first_not_pct {
    () => {
        r#"[^,+"\\;<>\u0000% #]"#
    };
}

/// A run of `%` and what follows it when that is not `u` (nor `%`).
macro_rules! pct_run {
    () => {
        concat!(r#"%+(?:[^,+"\\;<>\u0000%u]|"#, escape!(), ")")
    };
}

/// A string value without the `%u` placeholder (possibly empty), spelt so that a value has
/// one way to match: runs of `%` are followed by something other than `u`, or end it.
macro_rules! text_without_placeholder {
    () => {
        concat!(
            "(?:(?:",
            raw_first_not_pct!(),
            "|",
            escape!(),
            "|",
            pct_run!(),
            ")(?:",
            raw_not_pct!(),
            "|",
            escape!(),
            "|",
            pct_run!(),
            ")*)?%*"
        )
    };
}

/// A string value with `%u` in it: what precedes its first `%u`, then anything.
macro_rules! text_with_placeholder {
    () => {
        concat!(text_without_placeholder!(), "%u", value_char!(), "*")
    };
}

/// A DN with `%u` in a value (no anchors): the values before the first one with `%u` have
/// none, so each template matches one way (a backtracking matcher stays linear).
macro_rules! template {
    () => {
        concat!(
            " *(?:",
            type_eq!(),
            "(?:",
            ber!(),
            "|",
            text_without_placeholder!(),
            ")",
            sep!(),
            ")*",
            type_eq!(),
            text_with_placeholder!(),
            "(?:",
            sep!(),
            ava!(),
            ")* *"
        )
    };
}

/// A BER value: `#` and hex digit pairs.
macro_rules! ber {
    () => {
        "#(?:[0-9A-Fa-f]{2})+"
    };
}

/// An attribute type and the `=` after it.
macro_rules! type_eq {
    () => {
        "(?:[A-Za-z][A-Za-z0-9-]*|[0-9][0-9.]*) *= *"
    };
}

/// One `type=value`.
macro_rules! ava {
    () => {
        concat!(type_eq!(), "(?:", ber!(), "|", text!(), ")")
    };
}

/// Between two `type=value`: `,` (next RDN) or `+` (same RDN).
macro_rules! sep {
    () => {
        " *[,+] *"
    };
}

/// A non-empty DN, spaces tolerated at both ends (no anchors).
macro_rules! dn {
    () => {
        concat!(" *", ava!(), "(?:", sep!(), ava!(), ")* *")
    };
}

/// What matches [`BLANK_PATTERN`] (no anchors).
macro_rules! blank {
    () => {
        concat!("[", ws!(), "]*")
    };
}

/// An attribute description: a name or numeric OID, then `;option`s (no anchors).
macro_rules! attribute {
    () => {
        r"(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*"
    };
}

/// Empty or only white space: what the `ldap` object's checks count as absent.
pub const BLANK_PATTERN: &str = concat!("^", blank!(), "$");

/// A non-empty distinguished name as the directory parses it (`bind_dn`, a query's `base`).
pub const DN_PATTERN: &str = concat!("^", dn!(), "$");

/// `bind_dn`: blank (absent) or a DN.
pub const BLANK_OR_DN_PATTERN: &str = concat!("^(?:", blank!(), "|", dn!(), ")$");

/// A mapping's `dn` with a directory configured: white space around it is trimmed, then it
/// must be a non-empty DN. (The byte length, at most
/// [`super::MAX_MAPPING_DN_LEN`] once trimmed, is not in the pattern.)
pub const TRIMMED_DN_PATTERN: &str = concat!(
    "^",
    blank!(),
    "(?:",
    ava!(),
    sep!(),
    ")*",
    type_eq!(),
    "(?:",
    ber!(),
    "|",
    text_not_ending_in_ws!(),
    ")",
    blank!(),
    "$"
);

/// `user_dn_template`: a DN with the `%u` placeholder in a value, spaces tolerated at both
/// ends.
pub const DN_TEMPLATE_PATTERN: &str = concat!("^", template!(), "$");

/// `user_dn_template`: blank (absent) or a template.
pub const BLANK_OR_DN_TEMPLATE_PATTERN: &str = concat!("^(?:", blank!(), "|", template!(), ")$");

/// `dn_group_attr`: an attribute description (`memberOf`, `1.2.840.113556.1.2.102`,
/// `memberOf;x-option`).
pub const ATTRIBUTE_PATTERN: &str = concat!("^", attribute!(), "$");

/// `dn_group_attr`: blank (absent) or an attribute description.
pub const BLANK_OR_ATTRIBUTE_PATTERN: &str = concat!("^(?:", blank!(), "|", attribute!(), ")$");

/// What a `user_dn_query` filter must contain (the filter itself is RFC 4515, which no
/// regular expression states: one that does not parse is 400 `invalid_request`).
pub const USER_FILTER_PATTERN: &str = "%u";

/// What a `dn_group_query` filter must contain: `%D` or `%u`.
pub const GROUP_FILTER_PATTERN: &str = "%[Du]";

/// `ca_cert`: blank (absent) or text with a PEM certificate in it (whether the certificate
/// is one is the directory's check, 400 `invalid_request`).
pub const BLANK_OR_PEM_PATTERN: &str = concat!("^", blank!(), "$|-----BEGIN CERTIFICATE-----");

#[cfg(test)]
mod tests;
