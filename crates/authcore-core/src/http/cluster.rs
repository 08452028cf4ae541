//! The run-time settings endpoints: `/v1/cluster` (`password_complexity`,
//! `password_expiration_duration`), `/v1/cluster/policy` (lockout and the other policy
//! fields), `/v1/cluster/ldap` (Redis's `ldap` object) and `/v1/ldap_mappings`.
//!
//! The dispatch has already decided on the caller (each route names its permission); these
//! functions parse, call the [`Authenticator`] and answer.

use serde_json::{Map, Value};

use super::endpoints::{RequestParts, into_response, json_body};
use super::mapping_body::{LdapMappingBody, NewLdapMappingBody};
use super::response::ApiResponse;
use super::routes::RoutedRequest;
use crate::authenticator::{Authenticator, PolicySection};
use crate::error::{Error, Result};
use crate::settings::LdapSettings;

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

/// `GET /v1/cluster/ldap`: `bind_pass` masked; `{"uris": []}` when no directory is
/// configured.
pub(super) async fn get_ldap(auth: &Authenticator) -> ApiResponse {
    into_response(
        auth.ldap_settings()
            .await
            .map(|ldap| ApiResponse::json(200, &ldap.unwrap_or_default())),
    )
}

/// `PUT /v1/cluster/ldap`: the whole object (a `bind_pass` of `"***"` keeps the stored one).
pub(super) async fn put_ldap(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let body = object_body(&req.parts)?;
            if body.contains_key("ldap_mappings") {
                return Err(Error::InvalidRequest(
                    "unknown field `ldap_mappings`: mappings are managed at /v1/ldap_mappings"
                        .into(),
                ));
            }
            let ldap: LdapSettings = serde_json::from_value(Value::Object(body))
                .map_err(|e| Error::InvalidRequest(format!("the ldap object: {e}")))?;
            let stored = auth.set_ldap_settings(ldap).await?;
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

/// `POST /v1/ldap_mappings`: `name`, `dn` and `role` required.
pub(super) async fn create_mapping(auth: &Authenticator, req: &RoutedRequest<'_>) -> ApiResponse {
    into_response(
        async {
            let body = LdapMappingBody::parse(object_body(&req.parts)?)?;
            let created = auth
                .create_ldap_mapping(NewLdapMappingBody(body).into_new()?)
                .await?;
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
            let update = LdapMappingBody::parse(object_body(&req.parts)?)?.into_update();
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
