//! The run-time username/DN mapping: a user's DN from a `user_dn_template` or a
//! `user_dn_query`, the username read back out of a DN, and the group lookup, all validated
//! from an [`LdapConfig`](crate::LdapConfig) by its `resolve`.

use crate::config::{LdapQuery, LdapScope};
use crate::error::LdapConfigError;
use crate::escape::{AttrValue, Dn, rdn_key};

#[derive(Debug)]
pub(crate) enum UserDn {
    Template(DnTemplate),
    Query(ResolvedQuery),
}

#[derive(Debug)]
pub(crate) enum Groups {
    None,
    Attr(String),
    Query(ResolvedQuery),
}

/// A `user_dn_template`, and how to read the username back out of a DN it produced.
#[derive(Debug)]
pub(crate) struct DnTemplate {
    template: String,
    /// Set when `%u` appears once, as part of a single-valued RDN's value.
    inverse: Option<TemplateInverse>,
}

#[derive(Debug)]
struct TemplateInverse {
    /// The template's RDNs (lowercase), with the username's RDN at `slot`.
    rdns: Dn,
    slot: usize,
    attr: String,
    prefix: String,
    suffix: String,
}

/// Stands for `%u` while parsing a template (a private-use character no DN contains).
const MARKER: char = '\u{F8FF}';

impl DnTemplate {
    pub(crate) fn new(template: &str) -> Result<Self, LdapConfigError> {
        let field = "user_dn_template";
        if !template.contains("%u") {
            return Err(LdapConfigError::invalid(field, "no %u placeholder"));
        }
        let with_marker = template.replace("%u", &MARKER.to_string());
        let parsed = Dn::parse(&with_marker)
            .filter(|d| !d.0.is_empty())
            .ok_or_else(|| LdapConfigError::invalid(field, "not a DN once %u is replaced"))?;
        let inverse = (template.matches("%u").count() == 1)
            .then(|| {
                let slot = parsed.0.iter().position(|rdn| {
                    rdn.iter()
                        .any(|(_, v)| matches!(v, AttrValue::Text(s) if s.contains(MARKER)))
                })?;
                let [(attr, AttrValue::Text(value))] = parsed.0[slot].as_slice() else {
                    return None;
                };
                let (prefix, suffix) = value.split_once(MARKER)?;
                Some(TemplateInverse {
                    slot,
                    attr: attr.clone(),
                    prefix: prefix.to_lowercase(),
                    suffix: suffix.to_lowercase(),
                    rdns: parsed.clone(),
                })
            })
            .flatten();
        Ok(Self {
            template: template.to_owned(),
            inverse,
        })
    }

    /// The DN for `username`.
    pub(crate) fn dn_for(&self, username: &str) -> String {
        self.template
            .replace("%u", &crate::escape::escape_dn_value(username))
    }

    /// The username this template maps to `dn`, when it can tell. `None` when `dn` is not of
    /// the template's shape.
    pub(crate) fn username_of(&self, dn: &Dn) -> Option<String> {
        let inv = self.inverse.as_ref()?;
        if dn.0.len() != inv.rdns.0.len() {
            return None;
        }
        let others_match = inv
            .rdns
            .0
            .iter()
            .zip(&dn.0)
            .enumerate()
            .all(|(i, (a, b))| i == inv.slot || rdn_key(a) == rdn_key(b));
        let [(attr, AttrValue::Text(value))] = dn.0[inv.slot].as_slice() else {
            return None;
        };
        if !others_match || *attr != inv.attr {
            return None;
        }
        let value = value.to_lowercase();
        let middle = value.strip_prefix(&inv.prefix)?.strip_suffix(&inv.suffix)?;
        Some(middle.to_owned())
    }
}

/// A validated search.
#[derive(Debug)]
pub(crate) struct ResolvedQuery {
    pub(crate) base: String,
    pub(crate) base_dn: Dn,
    /// The filter, wrapped in parentheses.
    filter: String,
    pub(crate) scope: LdapScope,
    /// Attributes compared with exactly `%u` (`(uid=%u)` gives `uid`): where a username can
    /// be read back from an entry.
    pub(crate) username_attrs: Vec<String>,
}

impl ResolvedQuery {
    pub(crate) fn new(
        q: &LdapQuery,
        field: &'static str,
        placeholders: &[&str],
    ) -> Result<Self, LdapConfigError> {
        let base_dn = Dn::parse(&q.base)
            .filter(|d| !d.0.is_empty())
            .ok_or_else(|| LdapConfigError::invalid(field, "base is not a DN"))?;
        let trimmed = q.filter.trim();
        if trimmed.is_empty() {
            return Err(LdapConfigError::invalid(field, "no filter"));
        }
        if !placeholders.iter().any(|p| trimmed.contains(p)) {
            return Err(LdapConfigError::invalid(
                field,
                format!(
                    "the filter has no {} placeholder",
                    placeholders.join(" or ")
                ),
            ));
        }
        let filter = if trimmed.starts_with('(') {
            trimmed.to_owned()
        } else {
            format!("({trimmed})")
        };
        let sample = filter.replace("%u", "x").replace("%D", "cn=x");
        if ldap3::parse_filter(&sample).is_err() {
            return Err(LdapConfigError::invalid(
                field,
                "the filter does not parse (RFC 4515)",
            ));
        }
        let username_attrs = filter
            .match_indices("=%u)")
            .filter_map(|(at, _)| {
                let head = &filter[..at];
                let start = head.rfind('(')? + 1;
                let attr = &head[start..];
                is_attribute_description(attr).then(|| attr.to_owned())
            })
            .collect();
        Ok(Self {
            base: q.base.clone(),
            base_dn,
            filter,
            scope: q.scope,
            username_attrs,
        })
    }

    /// The filter with `%u` and `%D` replaced by escaped values.
    ///
    /// One pass over the template: a `%D` inside the username is text, never a placeholder.
    pub(crate) fn filter_for(&self, username: &str, dn: &str) -> String {
        use crate::escape::escape_filter_value as esc;
        let mut out = String::with_capacity(self.filter.len() + username.len() + dn.len());
        let mut rest = self.filter.as_str();
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("%u") {
                out.push_str(&esc(username));
                rest = after;
            } else if let Some(after) = tail.strip_prefix("%D") {
                out.push_str(&esc(dn));
                rest = after;
            } else {
                out.push('%');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        out
    }

    /// Whether an entry at `dn` is in this search's scope.
    pub(crate) fn covers(&self, dn: &Dn) -> bool {
        let depth = dn.0.len().checked_sub(self.base_dn.0.len());
        dn.is_within(&self.base_dn)
            && match self.scope {
                LdapScope::Base => depth == Some(0),
                LdapScope::One => depth == Some(1),
                LdapScope::Subtree => true,
            }
    }
}

/// An attribute description: a name (letter, then letters, digits, hyphens) or a numeric
/// OID, with optional `;options`.
pub(crate) fn is_attribute_description(s: &str) -> bool {
    let mut parts = s.split(';');
    let Some(name) = parts.next() else {
        return false;
    };
    let name_ok = match name.as_bytes().first() {
        Some(b) if b.is_ascii_alphabetic() => {
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }
        Some(b) if b.is_ascii_digit() => name
            .split('.')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        _ => false,
    };
    name_ok
        && parts.all(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_inverse_reads_the_username_back() {
        let t = DnTemplate::new("uid=%u,ou=People,dc=example,dc=org").unwrap();
        for name in ["alice", r"sp*c(i)a\l,x=y+z", r"nul\00user", " lead", "#x"] {
            let dn = Dn::parse(&t.dn_for(name)).unwrap();
            assert_eq!(t.username_of(&dn).as_deref(), Some(name), "{name}");
        }
        let other = Dn::parse("uid=alice,ou=admins,dc=example,dc=org").unwrap();
        assert_eq!(t.username_of(&other), None);
        let other = Dn::parse("cn=alice,ou=people,dc=example,dc=org").unwrap();
        assert_eq!(t.username_of(&other), None);
        let t = DnTemplate::new("cn=user-%u-x,dc=org").unwrap();
        let dn = Dn::parse("CN=User-Bob-X,DC=org").unwrap();
        assert_eq!(t.username_of(&dn).as_deref(), Some("bob"));
    }

    #[test]
    fn query_username_attributes() {
        let q = LdapQuery {
            base: "dc=example,dc=org".into(),
            filter: "(&(objectClass=person)(|(uid=%u)(mail=%u)(cn=*%u*)))".into(),
            scope: LdapScope::Subtree,
        };
        let r = ResolvedQuery::new(&q, "user_dn_query", &["%u"]).unwrap();
        assert_eq!(r.username_attrs, ["uid", "mail"]);
        assert_eq!(
            r.filter_for("*)(uid=*", ""),
            r"(&(objectClass=person)(|(uid=\2a\29\28uid=\2a)(mail=\2a\29\28uid=\2a)(cn=*\2a\29\28uid=\2a*)))"
        );
        // Placeholders inside substituted values stay text.
        let g = ResolvedQuery::new(
            &LdapQuery {
                base: "dc=example,dc=org".into(),
                filter: "(|(member=%D)(memberUid=%u)(x=100%))".into(),
                scope: LdapScope::Subtree,
            },
            "dn_group_query",
            &["%D"],
        )
        .unwrap();
        assert_eq!(
            g.filter_for("a%Db%u", "uid=x%u,dc=y"),
            r"(|(member=uid=x%u,dc=y)(memberUid=a%Db%u)(x=100%))"
        );
        assert_eq!(
            r.filter_for("al%Dice", "uid=alice"),
            r.filter.replace("%u", "al%Dice")
        );
        let one = ResolvedQuery::new(
            &LdapQuery {
                scope: LdapScope::One,
                ..q.clone()
            },
            "user_dn_query",
            &["%u"],
        )
        .unwrap();
        assert!(one.covers(&Dn::parse("uid=a,dc=example,dc=org").unwrap()));
        assert!(!one.covers(&Dn::parse("uid=a,ou=x,dc=example,dc=org").unwrap()));
        assert!(r.covers(&Dn::parse("uid=a,ou=x,dc=example,dc=org").unwrap()));
        assert!(!r.covers(&Dn::parse("uid=a,dc=other").unwrap()));
    }
}
