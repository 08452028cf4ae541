//! Escaping of untrusted text for LDAP filters (RFC 4515) and DNs (RFC 4514), and DN
//! parsing and normalisation.
//!
//! A username reaches the directory in two places: inside a search filter
//! (`user_dn_query`) and inside a DN (`user_dn_template`). Both have their own escaping rules;
//! mixing them up is an injection (`*)(uid=*` in a filter, `alice,ou=admins` in a DN).

/// Escapes `value` for use as an assertion value in a search filter (RFC 4515, section 3):
/// [`ldap3::ldap_escape`], owned.
///
/// `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c` and `\00`; everything else,
/// UTF-8 included, is kept as is. The result can never close a filter component or act as
/// a wildcard.
///
/// ```
/// assert_eq!(authcore_ldap::escape_filter_value("*)(uid=*"), r"\2a\29\28uid=\2a");
/// ```
#[must_use]
pub fn escape_filter_value(value: &str) -> String {
    ldap3::ldap_escape(value).into_owned()
}

/// Escapes `value` for use as an attribute value in a DN (RFC 4514, section 2.4):
/// [`ldap3::dn_escape`], owned.
///
/// `"`, `+`, `,`, `;`, `<`, `>`, `\`, NUL and also `=` are hex-escaped anywhere, a leading
/// space or `#` and a trailing space too. The result is always exactly one attribute value:
/// it can never add an RDN (`,`) or an attribute to the RDN (`+`).
///
/// ```
/// assert_eq!(authcore_ldap::escape_dn_value("alice,ou=admins"), r"alice\2cou\3dadmins");
/// ```
#[must_use]
pub fn escape_dn_value(value: &str) -> String {
    ldap3::dn_escape(value).into_owned()
}

/// An attribute value as written in a DN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AttrValue {
    /// A string value, unescaped.
    Text(String),
    /// A `#`-prefixed BER encoding, kept as its lowercase hex digits.
    Ber(String),
}

/// One attribute-value assertion of an RDN: the type (lowercase) and the value.
pub(crate) type Ava = (String, AttrValue);

/// A parsed DN: its RDNs, most specific first, each a list of AVAs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dn(pub(crate) Vec<Vec<Ava>>);

impl Dn {
    /// Parses an RFC 4514 string. Spaces around `,`, `+` and `=` are tolerated (RFC 2253
    /// writers emit them). Returns `None` for anything malformed.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let mut p = Parser {
            s: s.as_bytes(),
            i: 0,
        };
        let mut rdns = Vec::new();
        p.skip_spaces();
        if p.at_end() {
            return Some(Self(rdns));
        }
        loop {
            let mut rdn = Vec::new();
            loop {
                rdn.push(p.ava()?);
                p.skip_spaces();
                if p.eat(b'+') {
                    p.skip_spaces();
                    continue;
                }
                break;
            }
            rdns.push(rdn);
            if p.at_end() {
                return Some(Self(rdns));
            }
            if !p.eat(b',') {
                return None;
            }
            p.skip_spaces();
        }
    }

    /// The canonical form used for uids and DN comparisons: attribute types and values in
    /// lowercase, values re-escaped with [`escape_dn_value`], AVAs of an RDN sorted, no spaces
    /// around separators.
    ///
    /// Lowercasing values assumes the naming attributes compare case-insensitively, which is
    /// true of the usual ones (`uid`, `cn`, `ou`, `dc`, `o`, `mail`) in every common schema.
    pub(crate) fn canonical(&self) -> String {
        let mut out = String::new();
        for (i, rdn) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut avas: Vec<(String, String)> = rdn
                .iter()
                .map(|(t, v)| {
                    let v = match v {
                        AttrValue::Text(s) => escape_dn_value(&s.to_lowercase()),
                        AttrValue::Ber(hex) => format!("#{hex}"),
                    };
                    (t.clone(), v)
                })
                .collect();
            avas.sort();
            for (j, (t, v)) in avas.iter().enumerate() {
                if j > 0 {
                    out.push('+');
                }
                out.push_str(t);
                out.push('=');
                out.push_str(v);
            }
        }
        out
    }

    /// Whether `self` is `base` or below it.
    pub(crate) fn is_within(&self, base: &Dn) -> bool {
        self.0.len() >= base.0.len()
            && self.0[self.0.len() - base.0.len()..]
                .iter()
                .zip(&base.0)
                .all(|(a, b)| rdn_key(a) == rdn_key(b))
    }
}

/// An RDN in a comparable form (lowercase, sorted).
pub(crate) fn rdn_key(rdn: &[Ava]) -> Vec<(String, AttrValue)> {
    let mut v: Vec<_> = rdn
        .iter()
        .map(|(t, v)| {
            let v = match v {
                AttrValue::Text(s) => AttrValue::Text(s.to_lowercase()),
                ber @ AttrValue::Ber(_) => ber.clone(),
            };
            (t.clone(), v)
        })
        .collect();
    v.sort();
    v
}

/// The canonical form of a DN string, or `None` if it does not parse (RFC 4514, with the
/// spaces RFC 2253 writers emit around separators tolerated): attribute types and values in
/// lowercase, values re-escaped with [`escape_dn_value`], the AVAs of an RDN sorted, no spaces
/// around separators. This is how the store compares DNs (group mappings, the service
/// account, the user's base); the fuzz target `ldap_escape_dn` checks it is idempotent.
///
/// ```
/// assert_eq!(
///     authcore_ldap::normalize_dn("CN=Steve Kille , O=Isode Limited").as_deref(),
///     Some("cn=steve kille,o=isode limited")
/// );
/// assert_eq!(authcore_ldap::normalize_dn("uid=a,,dc=b"), None);
/// ```
#[must_use]
pub fn normalize_dn(s: &str) -> Option<String> {
    Dn::parse(s).map(|dn| dn.canonical())
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn ava(&mut self) -> Option<Ava> {
        let ty = self.attr_type()?;
        self.skip_spaces();
        if !self.eat(b'=') {
            return None;
        }
        self.skip_spaces();
        let value = if self.eat(b'#') {
            let start = self.i;
            while self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
                self.i += 1;
            }
            let hex = std::str::from_utf8(&self.s[start..self.i]).ok()?;
            if hex.is_empty() || hex.len() % 2 != 0 {
                return None;
            }
            AttrValue::Ber(hex.to_ascii_lowercase())
        } else {
            AttrValue::Text(self.string_value()?)
        };
        Some((ty, value))
    }

    /// `descr` (a letter, then letters, digits, hyphens) or a numeric OID; lowercased.
    fn attr_type(&mut self) -> Option<String> {
        let start = self.i;
        let first = self.peek()?;
        if first.is_ascii_alphabetic() {
            while self
                .peek()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                self.i += 1;
            }
        } else if first.is_ascii_digit() {
            while self.peek().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
                self.i += 1;
            }
        } else {
            return None;
        }
        let ty = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        let ty = ty.to_ascii_lowercase();
        // Tolerated RFC 2253 form `OID.1.2.3`.
        Some(ty.strip_prefix("oid.").map(str::to_owned).unwrap_or(ty))
    }

    /// An escaped string value, up to an unescaped `,` or `+` (or the end). Trailing
    /// unescaped spaces are not part of the value.
    fn string_value(&mut self) -> Option<String> {
        let mut bytes = Vec::new();
        // Length of `bytes` up to the last byte that was escaped or not a space.
        let mut keep = 0;
        while let Some(b) = self.peek() {
            match b {
                b',' | b'+' => break,
                b'\\' => {
                    self.i += 1;
                    let c = self.peek()?;
                    if c.is_ascii_hexdigit() {
                        let hi = hex_val(c)?;
                        let lo = hex_val(*self.s.get(self.i + 1)?)?;
                        bytes.push(hi << 4 | lo);
                        self.i += 2;
                    } else if matches!(
                        c,
                        b' ' | b'"' | b'#' | b'+' | b',' | b';' | b'<' | b'=' | b'>' | b'\\'
                    ) {
                        bytes.push(c);
                        self.i += 1;
                    } else {
                        return None;
                    }
                    keep = bytes.len();
                }
                // Unescaped, these are not allowed inside a value (RFC 4514 section 3).
                b'"' | b';' | b'<' | b'>' | 0 => return None,
                b => {
                    bytes.push(b);
                    self.i += 1;
                    if b != b' ' {
                        keep = bytes.len();
                    }
                }
            }
        }
        bytes.truncate(keep);
        String::from_utf8(bytes).ok()
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4515 section 4 examples and the injection classics.
    const FILTER_VECTORS: &[(&str, &str)] = &[
        (
            "Parens R Us (for all your parenthetical needs)",
            r"Parens R Us \28for all your parenthetical needs\29",
        ),
        ("*", r"\2a"),
        (r"C:\MyFile", r"C:\5cMyFile"),
        ("Lu\u{010d}i\u{0107}", "Lu\u{010d}i\u{0107}"),
        ("a\0b", r"a\00b"),
        (r"nul\00user", r"nul\5c00user"),
        ("*)(uid=*", r"\2a\29\28uid=\2a"),
        ("admin)(|(uid=*", r"admin\29\28|\28uid=\2a"),
        ("plain", "plain"),
        ("", ""),
    ];

    /// RFC 4514 section 2.4 rules, one vector each.
    const DN_VECTORS: &[(&str, &str)] = &[
        ("Sue, Grabbit and Runn", r"Sue\2c Grabbit and Runn"),
        ("Before\rAfter", "Before\rAfter"),
        ("Lu\u{010d}i\u{0107}", "Lu\u{010d}i\u{0107}"),
        (r#"James "Jim" Smith, III"#, r"James \22Jim\22 Smith\2c III"),
        (" leading", r"\20leading"),
        ("trailing ", r"trailing\20"),
        ("#hash", r"\23hash"),
        ("mid#hash", "mid#hash"),
        ("a+b", r"a\2bb"),
        ("a;b<c>d", r"a\3bb\3cc\3ed"),
        ("x=y", r"x\3dy"),
        (r"back\slash", r"back\5cslash"),
        ("nul\0", r"nul\00"),
        (
            "alice,ou=people,dc=example,dc=org",
            r"alice\2cou\3dpeople\2cdc\3dexample\2cdc\3dorg",
        ),
        (" ", r"\20"),
        ("*()", "*()"),
    ];

    #[test]
    fn filter_values_escape_per_rfc4515() {
        for (input, want) in FILTER_VECTORS {
            assert_eq!(escape_filter_value(input), *want, "{input:?}");
            // The escaped value is a valid filter assertion that ldap3 parses as one
            // equality match.
            let filter = format!("(uid={})", escape_filter_value(input));
            assert!(ldap3::parse_filter(&filter).is_ok(), "{filter}");
        }
    }

    #[test]
    fn dn_values_escape_per_rfc4514() {
        for (input, want) in DN_VECTORS {
            let escaped = escape_dn_value(input);
            assert_eq!(escaped, *want, "{input:?}");
            // Round trip: exactly one RDN with one AVA whose value is the input.
            let dn = Dn::parse(&format!("uid={escaped},dc=example")).expect("parses");
            assert_eq!(dn.0.len(), 2, "{input:?}");
            assert_eq!(
                dn.0[0],
                vec![("uid".to_owned(), AttrValue::Text((*input).to_owned()))]
            );
        }
    }

    #[test]
    fn dn_parsing_accepts_rfc4514_forms() {
        let dn = Dn::parse(r"CN=Steve Kille , O=Isode Limited,C=GB").expect("parses");
        assert_eq!(dn.canonical(), "cn=steve kille,o=isode limited,c=gb");
        let dn = Dn::parse(r"OU=Sales+CN=J.  Smith,DC=example,DC=net").expect("multi-valued");
        assert_eq!(dn.canonical(), "cn=j.  smith+ou=sales,dc=example,dc=net");
        let dn = Dn::parse(r#"CN=James \"Jim\" Smith\, III,DC=example,DC=net"#).expect("escapes");
        assert_eq!(
            dn.canonical(),
            r"cn=james \22jim\22 smith\2c iii,dc=example,dc=net"
        );
        let dn = Dn::parse(r"CN=Before\0dAfter,DC=example,DC=net").expect("hex");
        assert_eq!(dn.0[0][0].1, AttrValue::Text("Before\rAfter".into()));
        let dn = Dn::parse("1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com").expect("ber");
        assert_eq!(
            dn.canonical(),
            "1.3.6.1.4.1.1466.0=#04024869,dc=example,dc=com"
        );
        let dn = Dn::parse(r"CN=Lu\C4\8Di\C4\87").expect("utf-8 escapes");
        assert_eq!(dn.0[0][0].1, AttrValue::Text("Lu\u{010d}i\u{0107}".into()));
        assert_eq!(Dn::parse("").map(|d| d.0.len()), Some(0));
        // slapd's own output form for the test tree's awkward entry.
        assert_eq!(
            normalize_dn(r"uid=sp*c(i)a\5Cl\2Cx\3Dy\2Bz,ou=People,dc=example,dc=org").as_deref(),
            Some(r"uid=sp*c(i)a\5cl\2cx\3dy\2bz,ou=people,dc=example,dc=org")
        );
        assert_eq!(
            normalize_dn(r"uid=sp*c(i)a\\l\,x\=y\+z,ou=people,dc=example,dc=org"),
            normalize_dn(r"uid=sp*c(i)a\5Cl\2Cx\3Dy\2Bz,ou=people,dc=example,dc=org")
        );
    }

    #[test]
    fn dn_parsing_rejects_garbage() {
        for bad in [
            "uid",
            "uid=a,",
            ",uid=a",
            "=a",
            "uid=a,,dc=b",
            r"uid=a\",
            r"uid=a\zz",
            "uid=a\"b",
            "uid=a;dc=b",
            "uid=#0",
            "uid=#zz",
            "1bad=a",
            "uid=a<b",
            "uid=\u{0}",
            r"cn=\ff\fe",
        ] {
            assert_eq!(Dn::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn within() {
        let base = Dn::parse("ou=People,dc=example,dc=org").unwrap();
        assert!(
            Dn::parse("uid=a,ou=people,dc=example,dc=org")
                .unwrap()
                .is_within(&base)
        );
        assert!(base.is_within(&base));
        assert!(
            !Dn::parse("uid=a,ou=other,dc=example,dc=org")
                .unwrap()
                .is_within(&base)
        );
        assert!(!Dn::parse("dc=org").unwrap().is_within(&base));
    }
}
