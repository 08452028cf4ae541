//! The run-time settings endpoints: `/v1/cluster` (`password_complexity`,
//! `password_expiration_duration`), `/v1/cluster/policy` (lockout and the other policy
//! fields), `/v1/cluster/ldap` (Redis's `ldap` object) and `/v1/ldap_mappings`.
//!
//! The dispatch has already decided on the caller (each route names its permission); these
//! functions parse, call the [`Authenticator`] and answer.

use serde_json::{Map, Value, json};

use super::endpoints::{RequestParts, into_response, json_body};
use super::response::ApiResponse;
use super::routes::RoutedRequest;
use crate::authenticator::{Authenticator, PolicySection};
use crate::error::{Error, Result};
use crate::settings::{LdapMappingUpdate, NewLdapMapping};
use crate::user::Role;

/// `/v1/cluster/ldap` when no directory is configured.
fn unconfigured_ldap() -> Value {
    json!({"uris": []})
}

/// Whether `value` has Redis's documented type for one of the other `ldap_mapping` fields
/// (accepted and ignored; `null` too): `None` for a field that is not one of them.
fn ignored_mapping_field(name: &str, value: &Value) -> Option<bool> {
    let ok = value.is_null()
        || match name {
            "uid" | "account_id" => value.is_i64() || value.is_u64(),
            "action_uid" => value.is_string(),
            "bdbs_email_alerts" => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            "cluster_email_alerts" => value.is_boolean(),
            _ => return None,
        };
    Some(ok)
}

fn object_body(parts: &RequestParts<'_>) -> Result<Map<String, Value>> {
    match json_body::<Value>(parts, None)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::InvalidRequest(
            "the body must be a JSON object".into(),
        )),
    }
}

/// `GET /v1/cluster` and `GET /v1/cluster/policy`.
pub(super) async fn get_policy(auth: &Authenticator, section: PolicySection) -> ApiResponse {
    into_response(
        auth.policy_settings(section)
            .await
            .map(|map| ApiResponse::json(200, &map)),
    )
}

/// `PUT /v1/cluster` and `PUT /v1/cluster/policy`: a partial update; answers the whole object.
/// With `?dry_run` (Redis documents it on `PUT /v1/cluster`; `/v1/cluster/policy` takes it
/// too), the same validation and errors, nothing saved, and the object as it would stand.
pub(super) async fn put_policy(
    auth: &Authenticator,
    section: PolicySection,
    req: &RoutedRequest<'_>,
) -> ApiResponse {
    into_response(
        async {
            let dry_run = req.parts.dry_run()?;
            let changes = object_body(&req.parts)?;
            let now = if dry_run {
                auth.preview_policy_settings(section, changes).await?
            } else {
                auth.update_policy_settings(section, changes).await?
            };
            Ok(ApiResponse::json(200, &now))
        }
        .await,
    )
}

/// `GET /v1/cluster/ldap`: `bind_pass` masked.
pub(super) async fn get_ldap(auth: &Authenticator) -> ApiResponse {
    into_response(
        auth.ldap_settings()
            .await
            .map(|ldap| ApiResponse::json(200, &ldap.unwrap_or_else(unconfigured_ldap))),
    )
}

/// `PUT /v1/cluster/ldap`: the whole object (a `bind_pass` of `"***"` keeps the stored one).
pub(super) async fn put_ldap(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let body = object_body(&req.parts)?;
            let stored = auth.set_ldap_settings(Value::Object(body)).await?;
            Ok(ApiResponse::json(200, &stored))
        }
        .await,
    )
}

/// `DELETE /v1/cluster/ldap`.
pub(super) async fn delete_ldap(auth: &Authenticator) -> ApiResponse {
    into_response(
        auth.delete_ldap_settings()
            .await
            .map(|()| ApiResponse::ok_empty()),
    )
}

/// `GET /v1/ldap_mappings`.
pub(super) async fn list_mappings(auth: &Authenticator) -> ApiResponse {
    into_response(
        auth.ldap_mappings()
            .await
            .map(|all| ApiResponse::json(200, &all)),
    )
}

/// A mapping uid from the path: anything but an integer names no mapping.
fn mapping_uid(req: &RoutedRequest<'_>) -> Result<u64> {
    req.param("uid")
        .parse()
        .map_err(|_| Error::LdapMappingNotExist)
}

/// `GET /v1/ldap_mappings/{uid}`.
pub(super) async fn get_mapping(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let mapping = auth.ldap_mapping(mapping_uid(req)?).await?;
            Ok(ApiResponse::json(200, &mapping))
        }
        .await,
    )
}

/// The fields of a mapping body, checked one by one with Redis's error codes.
fn mapping_fields(body: Map<String, Value>) -> Result<LdapMappingUpdate> {
    let mut update = LdapMappingUpdate::default();
    for (name, value) in body {
        match name.as_str() {
            "name" => match value {
                Value::String(s) => update.name = Some(s),
                _ => return Err(Error::InvalidNameParam("must be a string".into())),
            },
            "dn" => match value {
                Value::String(s) => update.dn = Some(s.trim().to_owned()),
                _ => return Err(Error::InvalidDnParam("must be a string".into())),
            },
            "role" => match value {
                Value::String(s) => update.role = Some(Role::new(s)),
                _ => return Err(Error::InvalidRequest("role: must be a string".into())),
            },
            "email" => match value {
                Value::String(s) if s.is_empty() => update.email = Some(None),
                Value::String(s) => update.email = Some(Some(s)),
                Value::Null => update.email = Some(None),
                _ => return Err(Error::InvalidRequest("email: must be a string".into())),
            },
            "email_alerts" => match value {
                Value::Bool(b) => update.email_alerts = Some(b),
                _ => {
                    return Err(Error::InvalidRequest(
                        "email_alerts: must be a boolean".into(),
                    ));
                }
            },
            "role_uids" => return Err(Error::InvalidRoleUidsParam),
            other => match ignored_mapping_field(other, &value) {
                Some(true) => {}
                Some(false) => {
                    return Err(Error::InvalidRequest(format!(
                        "{other}: not of Redis's type for it"
                    )));
                }
                None => return Err(Error::InvalidRequest(format!("unknown field `{other}`"))),
            },
        }
    }
    Ok(update)
}

/// `POST /v1/ldap_mappings`: `name`, `dn` and `role` required.
pub(super) async fn create_mapping(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let fields = mapping_fields(object_body(&req.parts)?)?;
            let new = NewLdapMapping {
                name: fields.name.ok_or(Error::MissingField("name"))?,
                dn: fields.dn.ok_or(Error::MissingField("dn"))?,
                role: fields.role.ok_or(Error::MissingField("role"))?,
                email: fields.email.flatten(),
                email_alerts: fields.email_alerts.unwrap_or(true),
            };
            let created = auth.create_ldap_mapping(new).await?;
            Ok(ApiResponse::json(200, &created))
        }
        .await,
    )
}

/// `PUT /v1/ldap_mappings/{uid}`: the fields given change.
pub(super) async fn update_mapping(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let uid = mapping_uid(req)?;
            let update = mapping_fields(object_body(&req.parts)?)?;
            let updated = auth.update_ldap_mapping(uid, update).await?;
            Ok(ApiResponse::json(200, &updated))
        }
        .await,
    )
}

/// `DELETE /v1/ldap_mappings/{uid}`.
pub(super) async fn delete_mapping(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            auth.delete_ldap_mapping(mapping_uid(req)?).await?;
            Ok(ApiResponse::ok_empty())
        }
        .await,
    )
}
