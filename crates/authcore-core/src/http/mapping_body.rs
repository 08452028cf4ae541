//! The bodies of `POST /v1/ldap_mappings` and `PUT /v1/ldap_mappings/{uid}` (Redis's
//! `ldap_mapping` object, with a management role name in `role` instead of `role_uids`): the
//! parser and the OpenAPI schema at once, like the user bodies of [`super::body`].
//!
//! A field of the wrong type is answered with Redis's code for that field
//! (`invalid_name_param` for `name`, `invalid_dn_param` for `dn`), `role_uids` with
//! `invalid_role_uids_param` whatever its value, anything else with `invalid_request`: the
//! parse is serde's, and the field it failed on decides the code.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::authenticator::MAX_USERNAME_LEN;
use crate::error::{Error, Result};
use crate::settings::{
    LdapMappingUpdate, MAPPING_NAME_PATTERN, MAX_MAPPING_NAME_LEN, NewLdapMapping,
};
use crate::user::Role;

/// What a mapping's `dn` must contain without a directory ([`crate::settings::DirectoryControl`]):
/// an `=`, the whole check then. With one, the document states the directory's syntax
/// ([`crate::settings::TRIMMED_DN_PATTERN`]) instead.
pub const MAPPING_DN_PATTERN: &str = "=";

/// A JSON integer, as Redis types its ignored `uid` and `account_id` (any `i64` or `u64`).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
#[allow(dead_code)] // read by nobody: the field is accepted and ignored
enum AnyInteger {
    Signed(i64),
    Unsigned(u64),
}

impl JsonSchema for AnyInteger {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "AnyInteger".into()
    }

    /// What the parse takes: `i64::MIN` to `u64::MAX` (an `int64` format would refuse the
    /// `u64`s above `i64::MAX` that the parse accepts).
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": i64::MIN,
            "maximum": u64::MAX,
        })
    }
}

/// The body of `PUT /v1/ldap_mappings/{uid}`: the fields given change. `POST` takes the same
/// fields with `name`, `dn` and `role` required ([`NewLdapMappingBody`]).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    rename = "LdapMappingUpdate",
    description = "The fields given change. `role_uids` is 400 `invalid_role_uids_param`: give \
        a management role name in `role`."
)]
pub struct LdapMappingBody {
    /// Unique name: 1 to 255 bytes, not blank, no control characters (otherwise 400
    /// `invalid_name_param`; the pattern says all but the bytes); a name another mapping has
    /// is 400 `name_already_exists`.
    #[serde(default, deserialize_with = "present")]
    #[schemars(
        with = "String",
        length(min = 1, max = MAX_MAPPING_NAME_LEN),
        pattern(MAPPING_NAME_PATTERN)
    )]
    pub name: Option<String>,
    /// The group's distinguished name, e.g. `cn=admins,ou=groups,dc=example,dc=org`
    /// (RFC 4514; spaces around the separators are tolerated, surrounding whitespace is
    /// trimmed): at most 1024 bytes once trimmed, and one that does not parse as a DN is 400
    /// `invalid_dn_param` (the pattern says all but the bytes).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "String", length(min = 1), pattern(MAPPING_DN_PATTERN))]
    pub dn: Option<String>,
    /// The management role members of the group get.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "String")]
    pub role: Option<String>,
    /// For alerts (kept for Redis clients; authcore sends none): `null` or `""` clears it.
    #[serde(default, deserialize_with = "clearable")]
    #[schemars(with = "Option<String>", length(max = MAX_USERNAME_LEN))]
    pub email: Option<Option<String>>,
    /// Redis's alert switch (default `true`).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "bool", extend("default" = true))]
    pub email_alerts: Option<bool>,
    /// Redis's (read-only there); accepted and ignored.
    #[allow(dead_code)]
    uid: Option<AnyInteger>,
    /// Redis's; accepted and ignored.
    #[allow(dead_code)]
    account_id: Option<AnyInteger>,
    /// Redis's (read-only there); accepted and ignored.
    #[allow(dead_code)]
    action_uid: Option<String>,
    /// Redis's; accepted and ignored.
    #[allow(dead_code)]
    bdbs_email_alerts: Option<Vec<String>>,
    /// Redis's; accepted and ignored.
    #[allow(dead_code)]
    cluster_email_alerts: Option<bool>,
    /// Redis's role uids: refused whatever the value (`invalid_role_uids_param`); not in the
    /// document, whose schema refuses unknown fields.
    #[serde(default, deserialize_with = "refuse_role_uids")]
    #[schemars(skip)]
    #[allow(dead_code)]
    role_uids: Option<()>,
}

/// A field that may be absent but not `null`.
fn present<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// `email`: absent keeps it; `null` and `""` clear it.
fn clearable<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Ok(Some(
        Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()),
    ))
}

fn refuse_role_uids<'de, D: Deserializer<'de>>(_: D) -> std::result::Result<Option<()>, D::Error> {
    Err(serde::de::Error::custom(
        "role_uids: give a management role name in `role`",
    ))
}

/// The body of `POST /v1/ldap_mappings`: [`LdapMappingBody`]'s fields with `name`, `dn` and
/// `role` required (a missing one is 400 `missing_field`).
#[derive(Debug, Default)]
pub struct NewLdapMappingBody(pub LdapMappingBody);

impl JsonSchema for NewLdapMappingBody {
    fn schema_name() -> Cow<'static, str> {
        "LdapMappingInput".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = LdapMappingBody::json_schema(generator);
        schema.insert("required".into(), serde_json::json!(["name", "dn", "role"]));
        schema.insert(
            "description".into(),
            "`name`, `dn` and `role` are required (400 `missing_field`). `role_uids` is 400 \
             `invalid_role_uids_param`: give a management role name in `role`."
                .into(),
        );
        schema
    }
}

impl LdapMappingBody {
    /// Parses a mapping body (a JSON object), answering a field of the wrong type with
    /// Redis's code for that field.
    ///
    /// # Errors
    /// [`Error::InvalidNameParam`] (`name`), [`Error::InvalidDnParam`] (`dn`),
    /// [`Error::InvalidRoleUidsParam`] (`role_uids`), [`Error::InvalidRequest`] for any other
    /// field of the wrong type or unknown.
    pub fn parse(body: Map<String, Value>) -> Result<Self> {
        serde_path_to_error::deserialize(Value::Object(body)).map_err(|e| {
            let field = match e.path().iter().next() {
                Some(serde_path_to_error::Segment::Map { key }) => key.clone(),
                _ => String::new(),
            };
            let why = e.into_inner();
            match field.as_str() {
                "name" => Error::InvalidNameParam(format!("must be a string ({why})")),
                "dn" => Error::InvalidDnParam(format!("must be a string ({why})")),
                "role_uids" => Error::InvalidRoleUidsParam,
                _ => Error::InvalidRequest(format!("{why}")),
            }
        })
    }

    /// The change this body asks for (`dn` trimmed).
    #[must_use]
    pub fn into_update(self) -> LdapMappingUpdate {
        LdapMappingUpdate {
            name: self.name,
            dn: self.dn.map(|dn| dn.trim().to_owned()),
            role: self.role.map(Role::new),
            email: self.email,
            email_alerts: self.email_alerts,
        }
    }
}

impl NewLdapMappingBody {
    /// The mapping this body creates (`email_alerts` defaults to `true`).
    ///
    /// # Errors
    /// [`Error::MissingField`] for a missing `name`, `dn` or `role`.
    pub fn into_new(self) -> Result<NewLdapMapping> {
        let fields = self.0.into_update();
        Ok(NewLdapMapping {
            name: fields.name.ok_or(Error::MissingField("name"))?,
            dn: fields.dn.ok_or(Error::MissingField("dn"))?,
            role: fields.role.ok_or(Error::MissingField("role"))?,
            email: fields.email.flatten(),
            email_alerts: fields.email_alerts.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn parse(v: Value) -> Result<LdapMappingBody> {
        match v {
            Value::Object(map) => LdapMappingBody::parse(map),
            _ => unreachable!(),
        }
    }

    fn code(v: Value) -> &'static str {
        parse(v).unwrap_err().error_code()
    }

    #[test]
    fn each_field_of_the_wrong_type_has_redis_code() {
        assert_eq!(code(json!({"name": 1})), "invalid_name_param");
        assert_eq!(
            code(json!({"name": null, "dn": "cn=x"})),
            "invalid_name_param"
        );
        assert_eq!(code(json!({"dn": null})), "invalid_dn_param");
        assert_eq!(code(json!({"role": null})), "invalid_request");
        assert_eq!(code(json!({"email_alerts": null})), "invalid_request");
        assert_eq!(code(json!({"dn": ["cn=x"]})), "invalid_dn_param");
        assert_eq!(code(json!({"role_uids": [1]})), "invalid_role_uids_param");
        assert_eq!(code(json!({"role_uids": null})), "invalid_role_uids_param");
        assert_eq!(code(json!({"role": 1})), "invalid_request");
        assert_eq!(code(json!({"email": 1})), "invalid_request");
        assert_eq!(code(json!({"email_alerts": "yes"})), "invalid_request");
        assert_eq!(code(json!({"nope": 1})), "invalid_request");
        assert_eq!(code(json!({"uid": 1.5})), "invalid_request");
        assert_eq!(code(json!({"bdbs_email_alerts": [1]})), "invalid_request");
    }

    #[test]
    fn email_null_or_empty_clears_and_absent_keeps() {
        assert_eq!(parse(json!({})).unwrap().into_update().email, None);
        for clear in [json!(null), json!("")] {
            let update = parse(json!({"email": clear})).unwrap().into_update();
            assert_eq!(update.email, Some(None));
        }
        let update = parse(json!({"email": "a@b", "dn": " cn=x "}))
            .unwrap()
            .into_update();
        assert_eq!(update.email, Some(Some("a@b".into())));
        assert_eq!(update.dn.as_deref(), Some("cn=x"));
    }

    #[test]
    fn redis_ignored_fields_take_redis_types() {
        let body = json!({"uid": u64::MAX, "account_id": -3, "action_uid": "a",
            "bdbs_email_alerts": ["1", "all"], "cluster_email_alerts": null});
        assert!(parse(body).is_ok());
    }

    /// The schema of the ignored integers is the parse's range: `i64::MIN` to `u64::MAX`
    /// (an `int64` format refused `u64`s the parse accepts), `null` allowed.
    #[test]
    fn ignored_integers_schema_is_the_parse_range() {
        let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
        generator.subschema_for::<LdapMappingBody>();
        let schema = generator.take_definitions(true)["LdapMappingUpdate"].clone();
        for field in ["uid", "account_id"] {
            let prop = &schema["properties"][field];
            assert_eq!(prop["type"], "integer", "{field}");
            assert_eq!(prop["minimum"], json!(i64::MIN), "{field}");
            assert_eq!(prop["maximum"], json!(u64::MAX), "{field}");
            assert_eq!(prop["nullable"], true, "{field}");
            assert!(prop.get("format").is_none(), "{field}");
            for ok in [json!(i64::MIN), json!(u64::MAX), json!(null)] {
                assert!(parse(json!({ field: ok })).is_ok(), "{field} {ok}");
            }
            // One past each end is no longer an integer JSON keeps exactly: refused.
            for bad in ["18446744073709551616", "-9223372036854775809"] {
                let value: Value = serde_json::from_str(bad).unwrap();
                assert_eq!(
                    code(json!({ field: value })),
                    "invalid_request",
                    "{field} {bad}"
                );
            }
        }
    }

    #[test]
    fn a_new_mapping_needs_name_dn_and_role() {
        let new = |v: Value| NewLdapMappingBody(parse(v).unwrap()).into_new();
        let ok = new(json!({"name": "n", "dn": "cn=x", "role": "admin"})).unwrap();
        assert!(ok.email_alerts);
        for missing in ["name", "dn", "role"] {
            let mut body = json!({"name": "n", "dn": "cn=x", "role": "admin"});
            body.as_object_mut().unwrap().remove(missing);
            let err = new(body).unwrap_err();
            assert_eq!(err.error_code(), "missing_field", "{missing}");
        }
    }
}
