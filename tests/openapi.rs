//! The OpenAPI document is generated from the route table and the parsing types: it lists
//! exactly the routes served, every status and error code a route answers is one it
//! declares, and the schemas say what the parsers accept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use authcore::http::{
    ApiResponse, EMAIL_PATTERN, NAME_PATTERN, ROUTE_TABLE, RequestParts, dispatch, document,
    find_route,
};
use authcore::{AuthPolicy, Authenticator, CreateUser, Role};
use authcore_memory::MemoryStore;
use authcore_testkit::{ManualClock, fixtures};
use serde_json::{Value, json};

const ADMIN: &str = "ann@example.test";
const ADMIN_PW: &str = "Ann-Passw0rd!";
const USER: &str = "bob@example.test";
const USER_PW: &str = "Bob-Passw0rd!";

async fn server(settings: bool, roles: bool) -> Authenticator {
    let store = Arc::new(MemoryStore::new());
    let mut builder = Authenticator::builder()
        .store(store.clone())
        .lockout_store(store.clone())
        .hashing(fixtures::fast_hashing())
        .keys(fixtures::test_keys().unwrap())
        .clock(Arc::new(ManualClock::starting_now()))
        .policy(AuthPolicy::default());
    if settings {
        builder = builder.settings_store(store.clone());
    }
    if roles {
        builder = builder.allowed_roles(Role::REDIS_MANAGEMENT_ROLES);
    }
    let auth = builder.build().unwrap();
    for (email, pw, role) in [
        (ADMIN, ADMIN_PW, Role::ADMIN),
        (USER, USER_PW, Role::DB_VIEWER),
    ] {
        auth.create_user_unchecked(CreateUser {
            email: email.into(),
            password: fixtures::password(pw),
            name: None,
            role,
        })
        .await
        .unwrap();
    }
    auth
}

async fn token(auth: &Authenticator, email: &str, pw: &str) -> String {
    let issued = auth
        .authorize(email, &fixtures::password(pw), authcore::Ttl::DEFAULT)
        .await
        .unwrap();
    format!("JWT {}", issued.token)
}

#[tokio::test]
async fn lists_exactly_the_routes_served() {
    for (settings, roles) in [(false, false), (true, true)] {
        let auth = server(settings, roles).await;
        let doc = document(&auth);
        assert_eq!(doc["openapi"], "3.0.3");
        let paths = doc["paths"].as_object().unwrap();
        let routes = authcore::http::routes(&auth);
        assert_eq!(paths.len(), routes.len());
        for route in routes {
            let item = paths[route.path].as_object().unwrap();
            let mut documented: Vec<String> = item
                .keys()
                .filter(|k| *k != "parameters")
                .map(|k| k.to_uppercase())
                .collect();
            documented.sort();
            let mut served: Vec<String> = route.methods.iter().map(|m| (*m).to_owned()).collect();
            served.sort();
            assert_eq!(documented, served, "{}", route.path);
        }
        assert_eq!(
            paths.contains_key("/v1/cluster"),
            settings,
            "the settings routes only with a settings store"
        );
    }
}

/// Every operation lists, per error status, exactly the codes its route declares, and the
/// codes' statuses are `Error`'s own.
#[tokio::test]
async fn responses_are_the_declared_answers() {
    let auth = server(true, true).await;
    let doc = document(&auth);
    for route in ROUTE_TABLE.iter().filter(|r| (r.enabled)(&auth)) {
        let op = &doc["paths"][route.path][route.method.to_lowercase()];
        let responses = op["responses"].as_object().unwrap();
        let mut listed: Vec<(u16, String)> = Vec::new();
        for (status, response) in responses {
            let Some(codes) =
                response.pointer("/content/application~1json/schema/properties/error_code/enum")
            else {
                continue;
            };
            for code in codes.as_array().unwrap() {
                listed.push((status.parse().unwrap(), code.as_str().unwrap().to_owned()));
            }
        }
        let mut declared: Vec<(u16, String)> = route
            .answers()
            .into_iter()
            .map(|(s, c)| (s, c.to_owned()))
            .collect();
        listed.sort();
        declared.sort();
        assert_eq!(listed, declared, "{} {}", route.method, route.path);
        assert_eq!(op["operationId"], route.doc.operation_id);
    }
    // Redis's 406 on DELETE of the last admin is documented.
    let delete = &doc["paths"]["/v1/users/{uid}"]["delete"]["responses"]["406"];
    assert_eq!(
        delete.pointer("/content/application~1json/schema/properties/error_code/enum"),
        Some(&json!(["change_last_admin_role_not_allowed"]))
    );
}

fn schema<'d>(doc: &'d Value, name: &str) -> &'d Value {
    &doc["components"]["schemas"][name]
}

/// The body schemas say what the parsers accept: required fields, refused unknown fields,
/// Redis's patterns, the role enum, ranges, the policy's shortest password.
#[tokio::test]
async fn schemas_say_what_the_parsers_accept() {
    let auth = server(true, true).await;
    let doc = document(&auth);
    let create = schema(&doc, "CreateUserBody");
    assert_eq!(create["additionalProperties"], false);
    assert_eq!(create["required"], json!(["email", "password", "role"]));
    assert_eq!(create["properties"]["email"]["pattern"], EMAIL_PATTERN);
    assert_eq!(create["properties"]["name"]["pattern"], NAME_PATTERN);
    assert_eq!(
        create["properties"]["role"]["enum"],
        json!([
            "admin",
            "cluster_member",
            "cluster_viewer",
            "db_member",
            "db_viewer",
            "none"
        ])
    );
    assert_eq!(create["properties"]["password"]["minLength"], 8);
    assert_eq!(create["properties"]["password"]["maxLength"], 4096);
    assert_eq!(create["properties"]["email_alerts"]["type"], "boolean");
    let update = schema(&doc, "UpdateUserBody");
    assert_eq!(update["additionalProperties"], false);
    assert!(update.get("required").is_none());
    assert_eq!(
        update["properties"]["status"]["anyOf"][0]["$ref"],
        "#/components/schemas/UserStatus"
    );
    assert_eq!(
        schema(&doc, "UserStatus")["oneOf"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let authorize = schema(&doc, "AuthorizeBody");
    assert_eq!(authorize["required"], json!(["username", "password"]));
    assert_eq!(authorize["properties"]["ttl"]["minimum"], 1);
    assert_eq!(authorize["properties"]["ttl"]["maximum"], 86_400);
    let policy = schema(&doc, "ClusterPolicy");
    assert_eq!(policy["additionalProperties"], false);
    assert_eq!(
        policy["properties"]["login_lockout_duration"]["maximum"],
        authcore::LockoutPolicy::MAX_DURATION_SECS
    );
    assert!(schema(&doc, "ClusterSettings")["properties"]["password_complexity"].is_object());
    // The stateful phase of a client chains create -> get/update/delete through links.
    let links = &doc["paths"]["/v1/users"]["post"]["responses"]["200"]["links"];
    assert_eq!(links["DeleteUser"]["operationId"], "deleteUser");
    assert_eq!(
        links["DeleteUser"]["parameters"]["uid"],
        "$response.body#/uid"
    );

    // The pattern characters are exactly what the parser takes: every ASCII character
    // outside them is refused by the parser, every one inside is accepted.
    let admin = token(&auth, ADMIN, ADMIN_PW).await;
    let create_user = |email: String, name: String| {
        let auth = auth.clone();
        let admin = admin.clone();
        async move {
            let body = serde_json::to_vec(&json!({
                "email": email, "name": name, "password": "Some-Passw0rd!", "role": "db_viewer"
            }))
            .unwrap();
            let parts = RequestParts {
                authorization: Some(admin.as_bytes()),
                content_type: Some(b"application/json"),
                query: None,
                body: &body,
            };
            dispatch(&auth, "POST", "/v1/users", parts).await.status
        }
    };
    for c in (0u8..=127).map(char::from).chain(['é', '\u{1F600}']) {
        let in_email = ('!'..='~').contains(&c);
        let status = create_user(
            format!("x{c}{}@example.test", c as u32),
            format!("E{}", c as u32),
        )
        .await;
        assert_eq!(status == 200, in_email, "e-mail with {c:?}: {status}");
        let in_name = (' '..='~').contains(&c) && !['"', '&', '<', '>'].contains(&c);
        let status = create_user(
            format!("n{}@example.test", c as u32),
            format!("N{c}{}", c as u32),
        )
        .await;
        assert_eq!(status == 200, in_name, "name with {c:?}: {status}");
    }
    for (email, name) in [("", "N"), ("e@x", "")] {
        assert_eq!(create_user(email.into(), name.into()).await, 400);
    }
}

fn body_parts<'a>(authorization: Option<&'a str>, body: &'a [u8]) -> RequestParts<'a> {
    RequestParts {
        authorization: authorization.map(str::as_bytes),
        content_type: Some(b"application/json"),
        query: None,
        body,
    }
}

/// For each `(field, bad, good)` of `cases`: `method path` with the body `body(i, field,
/// value)` is refused (400) with the bad value and accepted (200) with the good one.
async fn refuses_bad_accepts_good(
    auth: &Authenticator,
    caller: &str,
    method: &str,
    path: &str,
    cases: &[(&str, Value, Value)],
    body: impl Fn(usize, &str, &Value) -> Value,
) {
    for (i, (field, bad, good)) in cases.iter().enumerate() {
        for (value, status) in [(bad, 400), (good, 200)] {
            let res = send(auth, caller, method, path, &body(i, field, value)).await;
            assert_eq!(
                res.status,
                status,
                "{method} {path} {field} = {value}: {}",
                String::from_utf8_lossy(&res.body)
            );
        }
    }
}

/// Bodies outside the schema are refused: a JSON array is no object (serde reads structs
/// from arrays), `username` is required without Basic credentials.
#[tokio::test]
async fn bodies_outside_the_schema_are_refused() {
    let auth = server(false, true).await;
    let user = token(&auth, USER, USER_PW).await;
    for body in [
        &b"[300]"[..],
        b"\r",
        b" ",
        b"300",
        b"null",
        b"\"x\"",
        br#"{"ttl": 0}"#,
        br#"{"ttl": 86401}"#,
    ] {
        let res = dispatch(
            &auth,
            "POST",
            "/v1/users/refresh_jwt",
            body_parts(Some(&user), body),
        )
        .await;
        assert_eq!(res.status, 400, "{}", String::from_utf8_lossy(body));
    }
    let res = dispatch(
        &auth,
        "POST",
        "/v1/users/refresh_jwt",
        body_parts(Some(&user), br#"{"ttl": 60}"#),
    )
    .await;
    assert_eq!(res.status, 200);
    for body in [
        &br#"{"password": "x"}"#[..],
        br#"{"username": "bob@example.test"}"#,
        br#"[]"#,
    ] {
        let res = dispatch(&auth, "POST", "/v1/users/authorize", body_parts(None, body)).await;
        assert_eq!(res.status, 400, "{}", String::from_utf8_lossy(body));
    }
    // Redis's documented types for the ignored user fields, on both user bodies; any other
    // field is refused.
    let admin = token(&auth, ADMIN, ADMIN_PW).await;
    let ignored = [
        ("email_alerts", json!("yes"), json!(true)),
        ("bdbs_email_alerts", json!([1]), json!(["1", "all"])),
        ("cluster_email_alerts", json!("no"), json!(null)),
        ("uid", json!("7"), json!(7)),
        ("account_id", json!(1.5), json!(1)),
        ("action_uid", json!(1), json!("a")),
        ("auth_method", json!(false), json!("regular")),
        (
            "password_issue_date",
            json!(0),
            json!("2017-03-02T09:43:34Z"),
        ),
    ];
    let doc = document(&auth);
    for (name, (field, ..)) in ["CreateUserBody", "UpdateUserBody"]
        .into_iter()
        .flat_map(|name| ignored.iter().map(move |f| (name, f)))
    {
        let body = schema(&doc, name);
        assert_eq!(body["additionalProperties"], false, "{name}");
        assert!(body["properties"][field].is_object(), "{name}.{field}");
    }
    let new_user = |_: usize, field: &str, v: &Value| json!({"email": fixtures::unique_email("t"), "password": "Some-Passw0rd!", "role": "db_viewer", field: v});
    refuses_bad_accepts_good(&auth, &admin, "POST", "/v1/users", &ignored, new_user).await;
    let body = new_user(0, "uid", &json!(1));
    let created = send(&auth, &admin, "POST", "/v1/users", &body).await;
    let created: Value = serde_json::from_slice(&created.body).unwrap();
    let path = format!("/v1/users/{}", created["uid"]);
    let update = |_: usize, field: &str, v: &Value| json!({ field: v });
    refuses_bad_accepts_good(&auth, &admin, "PUT", &path, &ignored, update).await;
    for (method, path) in [("POST", "/v1/users"), ("PUT", path.as_str())] {
        let body = new_user(0, "email_alert", &json!(true));
        let res = send(&auth, &admin, method, path, &body).await;
        assert_eq!(res.status, 400, "{method} {path}");
        assert!(String::from_utf8_lossy(&res.body).contains("email_alert"));
    }
    // Without a cluster name the document allows no pre-hash, and the parser refuses one.
    assert_eq!(
        schema(&doc, "CreateUserBody")["properties"]["password_hash_method"]["enum"],
        json!([null])
    );
    let body = br#"{"email": "p@example.test", "password": "Some-Passw0rd!", "role": "db_viewer", "password_hash_method": "1"}"#;
    let res = dispatch(&auth, "POST", "/v1/users", body_parts(Some(&admin), body)).await;
    assert_eq!(res.status, 400);
    // A user without a name has none: an e-mail that is no name is fine.
    let body =
        br#"{"email": "a&b@example.test", "password": "Some-Passw0rd!", "role": "db_viewer"}"#;
    let res = dispatch(&auth, "POST", "/v1/users", body_parts(Some(&admin), body)).await;
    assert_eq!(res.status, 200);
    // An unknown role is refused, as the enum says.
    let body = br#"{"email": "r@example.test", "password": "Some-Passw0rd!", "role": "emperor"}"#;
    let res = dispatch(&auth, "POST", "/v1/users", body_parts(Some(&admin), body)).await;
    assert_eq!(res.status, 400);
}

/// The LDAP mapping bodies take Redis's other mapping fields with Redis's types only.
#[tokio::test]
async fn mapping_fields_have_redis_types() {
    let auth = server(true, true).await;
    let admin = token(&auth, ADMIN, ADMIN_PW).await;
    let doc = document(&auth);
    let input = schema(&doc, "LdapMappingInput");
    assert_eq!(input["additionalProperties"], false);
    assert_eq!(
        input["properties"]["cluster_email_alerts"]["type"],
        "boolean"
    );
    let fields = [
        ("uid", json!("1"), json!(1)),
        ("account_id", json!(true), json!(7)),
        ("action_uid", json!(1), json!("a")),
        ("bdbs_email_alerts", json!([1]), json!(["1", "all"])),
        ("cluster_email_alerts", json!("no"), json!(null)),
    ];
    let mapping = |i: usize, field: &str, v: &Value| json!({"name": format!("m{i}-{v}"), "dn": "cn=x,dc=example", "role": "db_viewer", field: v});
    refuses_bad_accepts_good(&auth, &admin, "POST", "/v1/ldap_mappings", &fields, mapping).await;
}

/// The `ldap` object's schema is generated from the type `PUT /v1/cluster/ldap` parses into:
/// every property it lists is parsed with a value of its type and refused (400
/// `invalid_request`) with a value of another type, and a property it does not list is
/// refused. Without a directory control a parsed body is 400 `unsupported_operation`, which
/// tells the parse's verdict apart from the directory's.
#[tokio::test]
async fn the_ldap_schema_is_what_put_parses() {
    let auth = server(true, true).await;
    let admin = token(&auth, ADMIN, ADMIN_PW).await;
    let doc = document(&auth);
    let ldap = schema(&doc, "Ldap");
    assert_eq!(ldap["additionalProperties"], false);
    assert_eq!(ldap["required"], json!(["uris"]));
    assert_eq!(
        ldap["properties"]["uris"]["items"]["pattern"],
        authcore::settings::LDAP_URI_PATTERN
    );
    assert_eq!(ldap["properties"]["directory_timeout_s"]["minimum"], 5);
    assert_eq!(ldap["properties"]["directory_timeout_s"]["maximum"], 60);
    let query = schema(&doc, "LdapQuery");
    assert_eq!(query["additionalProperties"], false);
    assert_eq!(
        schema(&doc, "LdapScope")["enum"],
        json!(authcore::settings::LdapScope::NAMES)
    );
    let props = ldap["properties"].as_object().unwrap();
    let mut names: Vec<&str> = props.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "bind_dn",
            "bind_pass",
            "ca_cert",
            "cache_ttl",
            "control_plane",
            "data_plane",
            "directory_timeout_s",
            "dn_group_attr",
            "dn_group_query",
            "starttls",
            "uris",
            "user_dn_query",
            "user_dn_template"
        ]
    );
    let put = |body: Value| {
        let auth = auth.clone();
        let admin = admin.clone();
        async move { answer(&auth, &admin, "PUT", "/v1/cluster/ldap", &body).await }
    };
    let parsed = (400, "unsupported_operation".to_owned());
    let refused = (400, "invalid_request".to_owned());
    for (name, prop) in props {
        let kind = prop["type"]
            .as_str()
            .or_else(|| prop["$ref"].as_str().map(|_| "object"))
            .or_else(|| prop["anyOf"][0]["$ref"].as_str().map(|_| "object"))
            .unwrap_or_else(|| panic!("{name}: {prop}"));
        let (good, bad) = match kind {
            "array" => (json!(["ldap://h"]), json!("ldap://h")),
            "string" => (json!("cn=x"), json!(1)),
            "boolean" => (json!(true), json!("true")),
            "integer" => (json!(5), json!(-5)),
            "object" => (
                json!({"base": "dc=x", "filter": "(uid=%u)", "scope": "one"}),
                json!([]),
            ),
            other => panic!("{name}: {other}"),
        };
        let mut body = json!({"uris": ["ldap://h"]});
        body[name] = good;
        assert_eq!(put(body.clone()).await, parsed, "{name}: {body}");
        body[name] = bad;
        assert_eq!(put(body.clone()).await, refused, "{name}: {body}");
        if kind != "array" {
            body[name] = Value::Null;
            assert_eq!(put(body.clone()).await, parsed, "{name}: null");
        }
    }
    for refused_body in [
        json!({"uris": ["ldap://h"], "ldap_mappings": []}),
        json!({"uris": ["ldap://h"], "nope": 1}),
        json!({"uris": ["ldap://h"], "user_dn_query": {"base": "dc=x", "nope": 1}}),
        json!({"uris": ["ldap://h"], "user_dn_query": {"scope": "everything"}}),
        json!({"bind_dn": "cn=x"}),
    ] {
        assert_eq!(put(refused_body.clone()).await, refused, "{refused_body}");
    }
    for scope in authcore::settings::LdapScope::NAMES {
        let body = json!({"uris": ["ldap://h"], "dn_group_query": {"scope": scope}});
        assert_eq!(put(body).await, parsed, "{scope}");
    }
}

/// The mapping schemas are generated from the body types: `dn` needs an `=` (a DN without
/// one is 400 `invalid_dn_param`, as the field's description says of any DN that does not
/// parse), `role_uids` is not a property (400 `invalid_role_uids_param`).
#[tokio::test]
async fn mapping_schemas_describe_the_dn_refusal() {
    let auth = server(true, true).await;
    let admin = token(&auth, ADMIN, ADMIN_PW).await;
    let doc = document(&auth);
    for name in ["LdapMappingInput", "LdapMappingUpdate"] {
        let body = schema(&doc, name);
        assert_eq!(body["additionalProperties"], false, "{name}");
        let dn = &body["properties"]["dn"];
        assert_eq!(dn["pattern"], authcore::http::MAPPING_DN_PATTERN, "{name}");
        assert!(
            dn["description"]
                .as_str()
                .unwrap()
                .contains("`invalid_dn_param`"),
            "{name}"
        );
        assert!(body["properties"].get("role_uids").is_none(), "{name}");
    }
    assert_eq!(
        schema(&doc, "LdapMappingInput")["required"],
        json!(["name", "dn", "role"])
    );
    assert_eq!(
        schema(&doc, "LdapMapping")["required"],
        json!(["uid", "name", "dn", "role", "email_alerts"])
    );
    for (body, code) in [
        (
            json!({"name": "a", "dn": "no equals sign", "role": "db_viewer"}),
            "invalid_dn_param",
        ),
        (
            json!({"name": "a", "dn": null, "role": "db_viewer"}),
            "invalid_dn_param",
        ),
        (
            json!({"name": 7, "dn": "cn=a", "role": "db_viewer"}),
            "invalid_name_param",
        ),
        (json!({"dn": "cn=a", "role": "db_viewer"}), "missing_field"),
        (
            json!({"name": "a", "dn": "cn=a", "role": "db_viewer", "role_uids": [1]}),
            "invalid_role_uids_param",
        ),
    ] {
        let res = send(&auth, &admin, "POST", "/v1/ldap_mappings", &body).await;
        assert_eq!(res.status, 400, "{body}");
        let got: Value = serde_json::from_slice(&res.body).unwrap();
        assert_eq!(got["error_code"], code, "{body}");
    }
}

/// An endpoint cannot answer a status and code its route does not declare: every route,
/// with no credentials, a malformed header, a non-admin's and an admin's token, Basic
/// credentials, and bodies from empty to wrong to valid, is answered 200 or with one of
/// the route's [`authcore::http::Route::answers`].
#[tokio::test]
async fn every_answer_is_declared_by_its_route() {
    let auth = server(true, true).await;
    let admin = token(&auth, ADMIN, ADMIN_PW).await;
    let user = token(&auth, USER, USER_PW).await;
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{USER}:{USER_PW}")
        )
    );
    let headers: Vec<Option<String>> = vec![
        None,
        Some("Bearer".into()),
        Some("JWT not.a.token".into()),
        Some(user.clone()),
        Some(basic),
        Some(admin.clone()),
    ];
    let bodies: Vec<Vec<u8>> = [
        json!(null),
        json!([1]),
        json!({}),
        json!({"unknown": 1}),
        json!({"ttl": 0}),
        json!({"ttl": 60, "all": false}),
        json!({"username": USER, "password": USER_PW}),
        json!({"username": USER, "old_password": USER_PW, "new_password": USER_PW}),
        json!({"username": USER, "old_password": USER_PW, "new_password": "short"}),
        json!({"username": USER, "old_password": "wrong-password"}),
        json!({"email": ADMIN, "password": "Some-Passw0rd!", "role": "admin"}),
        json!({"email": "new@example.test", "password": "Some-Passw0rd!", "role": "db_member"}),
        json!({"email": "x y", "password": "p", "role": "emperor"}),
        json!({"role": "db_viewer"}),
        json!({"status": "disabled"}),
        json!({"password": "Bob-Passw0rd!"}),
        json!({"name": "n", "dn": "cn=x,dc=y", "role": "admin"}),
        json!({"name": "", "dn": "nodn", "role_uids": [1]}),
        json!({"login_lockout_threshold": -1}),
        json!({"password_complexity": true, "alert_settings": {}}),
        json!({"uris": ["ldap://127.0.0.1:1"], "bind_dn": "cn=x"}),
    ]
    .iter()
    .map(|v| {
        if v.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(v).unwrap()
        }
    })
    .chain([b"{".to_vec(), vec![0xff, 0xfe]])
    .collect();
    let mut answered = 0;
    for route in ROUTE_TABLE.iter().filter(|r| (r.enabled)(&auth)) {
        // A uid that exists (the user's 2, mapping 1 once created), one that does not, one
        // that is no number.
        for uid in ["2", "1", "999", "x"] {
            let path = route.path.replace("{uid}", uid);
            if path != route.path && uid == "1" && route.path.starts_with("/v1/users") {
                continue; // the admin deleting or demoting themself ends the run early
            }
            for header in &headers {
                for (body, query) in bodies.iter().flat_map(|b| {
                    [None, Some("dry_run"), Some("dry_run=maybe")].map(move |q| (b, q))
                }) {
                    if !route.reads_body && (!body.is_empty() || query.is_some()) {
                        continue;
                    }
                    let parts = RequestParts {
                        authorization: header.as_deref().map(str::as_bytes),
                        content_type: Some(b"application/json"),
                        query,
                        body,
                    };
                    let matched = find_route(&auth, route.method, &path).unwrap();
                    assert_eq!(matched.template(), route.path);
                    let res = matched.respond(&auth, parts).await;
                    answered += 1;
                    if res.status == 200 || (route.path == "/readyz" && res.status == 503) {
                        continue;
                    }
                    let code: Value = serde_json::from_slice(&res.body).unwrap();
                    let code = code["error_code"].as_str().unwrap();
                    assert!(
                        route.answers().contains(&(res.status, code)),
                        "{} {path}?{query:?} answered {} {code}, undeclared (header {header:?}, body {})",
                        route.method,
                        res.status,
                        String::from_utf8_lossy(body)
                    );
                }
            }
            if path == route.path {
                break;
            }
        }
    }
    assert!(answered > 500, "{answered}");
}

/// A server with a settings store and the real directory control (`authcore-ldap`'s): the
/// document then states the directory's syntax, and its checks answer.
async fn directory_server() -> (Authenticator, String) {
    let auth = support::directory_builder(&Arc::new(MemoryStore::new()))
        .allowed_roles(Role::REDIS_MANAGEMENT_ROLES)
        .build()
        .unwrap();
    auth.create_user_unchecked(CreateUser {
        email: ADMIN.into(),
        password: fixtures::password(ADMIN_PW),
        name: None,
        role: Role::ADMIN,
    })
    .await
    .unwrap();
    let admin = token(&auth, ADMIN, ADMIN_PW).await;
    (auth, admin)
}

/// The response to `method path` with the JSON `body`, sent as `caller`.
async fn send(
    auth: &Authenticator,
    caller: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> ApiResponse {
    let bytes = serde_json::to_vec(body).unwrap();
    dispatch(auth, method, path, body_parts(Some(caller), &bytes)).await
}

/// `(status, error_code)` of `method path` with `body`.
async fn answer(
    auth: &Authenticator,
    caller: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> (u16, String) {
    let res = send(auth, caller, method, path, body).await;
    let got: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
    (
        res.status,
        got["error_code"].as_str().unwrap_or("").to_owned(),
    )
}

/// Whether `v` is valid against `schema` of `doc`: the subset of OpenAPI 3.0's schema
/// object the document uses (`$ref`, `type` with `nullable`, `enum`, `pattern`,
/// `minLength`/`maxLength` in characters, `minItems`, `items`, `minimum`/`maximum`,
/// `properties`, `required`, `additionalProperties: false`, `allOf`, `anyOf`, `oneOf`).
/// Panics on a keyword it does not know, so it cannot pass a schema by ignoring it.
fn schema_accepts(doc: &Value, schema: &Value, v: &Value) -> bool {
    let obj = schema.as_object().unwrap();
    if let Some(r) = obj.get("$ref") {
        let name = r
            .as_str()
            .unwrap()
            .trim_start_matches("#/components/schemas/");
        return schema_accepts(doc, &doc["components"]["schemas"][name], v);
    }
    let nullable = obj.get("nullable") == Some(&Value::Bool(true));
    for (key, want) in obj {
        let ok = match key.as_str() {
            "type" => {
                (v.is_null() && nullable)
                    || match want.as_str().unwrap() {
                        "string" => v.is_string(),
                        "integer" => v.is_i64() || v.is_u64(),
                        "number" => v.is_number(),
                        "boolean" => v.is_boolean(),
                        "object" => v.is_object(),
                        "array" => v.is_array(),
                        other => panic!("type {other}"),
                    }
            }
            "enum" => want.as_array().unwrap().contains(v),
            "pattern" => v.as_str().is_none_or(|s| {
                regex::Regex::new(want.as_str().unwrap())
                    .unwrap()
                    .is_match(s)
            }),
            "minLength" => v
                .as_str()
                .is_none_or(|s| s.chars().count() as u64 >= want.as_u64().unwrap()),
            "maxLength" => v
                .as_str()
                .is_none_or(|s| s.chars().count() as u64 <= want.as_u64().unwrap()),
            "minItems" => v
                .as_array()
                .is_none_or(|a| a.len() as u64 >= want.as_u64().unwrap()),
            "items" => v
                .as_array()
                .is_none_or(|a| a.iter().all(|i| schema_accepts(doc, want, i))),
            "minimum" => v.as_f64().is_none_or(|n| n >= want.as_f64().unwrap()),
            "maximum" => v.as_f64().is_none_or(|n| n <= want.as_f64().unwrap()),
            "properties" => v.as_object().is_none_or(|o| {
                o.iter()
                    .all(|(k, x)| want.get(k).is_none_or(|s| schema_accepts(doc, s, x)))
            }),
            "required" => v.as_object().is_none_or(|o| {
                want.as_array()
                    .unwrap()
                    .iter()
                    .all(|k| o.contains_key(k.as_str().unwrap()))
            }),
            "additionalProperties" => {
                assert_eq!(want, &Value::Bool(false));
                v.as_object()
                    .is_none_or(|o| o.keys().all(|k| obj["properties"].get(k).is_some()))
            }
            "allOf" => want
                .as_array()
                .unwrap()
                .iter()
                .all(|s| schema_accepts(doc, s, v)),
            "anyOf" => want
                .as_array()
                .unwrap()
                .iter()
                .any(|s| schema_accepts(doc, s, v)),
            "oneOf" => {
                want.as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| schema_accepts(doc, s, v))
                    .count()
                    == 1
            }
            "nullable" | "description" | "default" | "format" | "title" | "example" => true,
            other => panic!("keyword {other}"),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Strings made of the pieces DN syntax turns on (separators, escapes of every UTF-8 class,
/// BER values, white space of several kinds, the forbidden characters, the placeholder):
/// a fixed table and `n` pseudo-random concatenations (a fixed seed: a failure replays).
fn dn_like_strings(n: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "cn",
        "dc",
        "uid",
        "1.2.3",
        "x-y",
        "=",
        "=",
        ",",
        ",",
        "+",
        " ",
        " ",
        "a",
        "b c",
        "\\",
        "\\\\",
        "\\,",
        "\\ ",
        "\\#",
        "\\=",
        "\\20",
        "\\41",
        "\\c3\\a9",
        "\\c3",
        "\\a9",
        "\\e2\\82\\ac",
        "\\ed\\a0\\80",
        "\\e0\\80\\80",
        "\\c1\\bf",
        "\\f0\\9f\\98\\80",
        "\\f4\\90\\80\\80",
        "\\zz",
        "#",
        "#04",
        "#0",
        "0f",
        "\"",
        ";",
        "<",
        ">",
        "\u{0}",
        "\t",
        "\n",
        "\u{a0}",
        "\u{85}",
        "\u{3000}",
        "\u{1}",
        "é",
        "\u{1F600}",
        "%u",
        "%",
        "%D",
        "*",
        "(",
        ")",
        ".",
    ];
    let mut out: Vec<String> = [
        "cn=admins,ou=groups,dc=example,dc=org",
        "CN=Steve Kille , O=Isode Limited,C=GB",
        "OU=Sales+CN=J.  Smith,DC=example,DC=net",
        r#"CN=James \"Jim\" Smith\, III,DC=example,DC=net"#,
        "1.3.6.1.4.1.1466.0=#04024869,DC=example,DC=com",
        r"CN=Lu\C4\8Di\C4\87",
        r"uid=sp*c(i)a\5Cl\2Cx\3Dy\2Bz,ou=People,dc=example,dc=org",
        "  cn=x  ",
        "\tcn=x\u{3000}",
        "cn=x\\ ",
        "cn=x\\ \t",
        "cn=x\\20",
        "cn=",
        "cn= ",
        "cn=,dc=x",
        "cn=#",
        "cn= #00",
        "cn=#00 ",
        "cn= #zz",
        "uid=%u,ou=people,dc=example,dc=org",
        "uid=a%ub,dc=x",
        "%u=a",
        "uid=\\%u",
        "cn=50%off%u",
        "cn=%%u",
        "cn=% %u",
        "cn=%u%u,dc=%u",
        "cn=a%,dc=%u",
        "cn=a%\\2c,dc=%u%",
        "cn=\\25u",
        "cn=%#u",
        "cn=%u ,dc=x%",
        "",
        " ",
        "uid",
        "uid=a,,dc=b",
        r"cn=\ff\fe",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..n {
        let len = 1 + next() % 9;
        let mut s = String::new();
        for i in 0..len {
            // Start like a DN more often than not, so that both verdicts are common.
            let piece = match (i, next() % 3) {
                (0, 0 | 1) => "cn=",
                _ => PIECES[(next() % PIECES.len() as u64) as usize],
            };
            s.push_str(piece);
        }
        out.push(s);
    }
    out
}

/// A mapping's `name` and `dn` schemas (with a directory) accept exactly what the server
/// accepts: every generated string is answered 200 when the schema accepts it and 400
/// `invalid_name_param` / `invalid_dn_param` when it does not, on `POST` and `PUT`.
#[tokio::test]
async fn mapping_name_and_dn_schemas_are_the_checks() {
    let (auth, admin) = directory_server().await;
    let doc = document(&auth);
    for name in ["LdapMappingInput", "LdapMappingUpdate"] {
        assert_eq!(
            schema(&doc, name)["properties"]["dn"]["pattern"],
            authcore::settings::TRIMMED_DN_PATTERN,
            "{name}"
        );
        assert_eq!(
            schema(&doc, name)["properties"]["name"]["pattern"],
            authcore::settings::MAPPING_NAME_PATTERN,
            "{name}"
        );
    }
    let created = answer(
        &auth,
        &admin,
        "POST",
        "/v1/ldap_mappings",
        &json!({"name": "m", "dn": "cn=x", "role": "admin"}),
    )
    .await;
    assert_eq!(created, (200, String::new()));
    let update = schema(&doc, "LdapMappingUpdate");
    let input = schema(&doc, "LdapMappingInput");
    let mut seen = [[0u32; 2]; 2];
    for (i, s) in dn_like_strings(1500).into_iter().enumerate() {
        for (field, code) in [("dn", "invalid_dn_param"), ("name", "invalid_name_param")] {
            if field == "name" && s.len() > authcore::settings::MAX_MAPPING_NAME_LEN {
                continue; // bytes: the description's, not the pattern's
            }
            if i % 10 == 0 {
                // POST too (a name no other mapping has, so only the field decides), then
                // delete what it created.
                let rename = json!({"name": "the mapping"});
                let renamed = answer(&auth, &admin, "PUT", "/v1/ldap_mappings/1", &rename).await;
                assert_eq!(renamed.0, 200);
                let mut body = json!({"name": format!("n{i}"), "dn": "cn=y", "role": "db_viewer"});
                body[field] = json!(s);
                let valid = schema_accepts(&doc, input, &body);
                let res = send(&auth, &admin, "POST", "/v1/ldap_mappings", &body).await;
                assert_eq!(
                    res.status == 200,
                    valid,
                    "POST {field} {s:?}: {}",
                    String::from_utf8_lossy(&res.body)
                );
                if res.status == 200 {
                    let uid = serde_json::from_slice::<Value>(&res.body).unwrap()["uid"].clone();
                    let path = format!("/v1/ldap_mappings/{uid}");
                    let res = dispatch(&auth, "DELETE", &path, body_parts(Some(&admin), b"")).await;
                    assert_eq!(res.status, 200);
                }
            }
            let body = json!({ field: s });
            let valid = schema_accepts(&doc, update, &body);
            let got = answer(&auth, &admin, "PUT", "/v1/ldap_mappings/1", &body).await;
            let want = if valid {
                (200, String::new())
            } else {
                (400, code.to_owned())
            };
            assert_eq!(got, want, "PUT {field} {s:?}");
            seen[usize::from(field == "name")][usize::from(valid)] += 1;
        }
    }
    // Both verdicts are common for both fields: the table tests something.
    for (field, [refused, accepted]) in ["dn", "name"].iter().zip(seen) {
        assert!(
            refused > 300 && accepted > 300,
            "{field}: {refused} refused, {accepted} accepted"
        );
    }
}

/// The `PUT /v1/cluster/ldap` body schema (`LdapInput`) accepts what the directory's check
/// accepts, field by field (every generated string as `bind_dn`, `user_dn_template`,
/// `dn_group_attr`, a query's `base`, a URI) and combination by combination (each
/// exclusive pair, blank strings, `null` and empty query objects counting as absent).
/// The response schema stays `Ldap` (`GET` shows `uris: []` without a directory).
#[tokio::test]
async fn ldap_input_schema_is_the_directory_check() {
    let (auth, admin) = directory_server().await;
    let doc = document(&auth);
    let put = &doc["paths"]["/v1/cluster/ldap"]["put"];
    assert_eq!(
        put["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/LdapInput"
    );
    assert_eq!(
        put["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Ldap"
    );
    let input = &json!({"$ref": "#/components/schemas/LdapInput"});
    // The schema's example is a body the check accepts.
    let example = schema(&doc, "LdapInput")["example"].clone();
    assert!(schema_accepts(&doc, input, &example), "{example}");
    assert_eq!(
        answer(&auth, &admin, "PUT", "/v1/cluster/ldap", &example).await,
        (200, String::new())
    );
    let check = |body: Value| {
        let auth = auth.clone();
        let admin = admin.clone();
        let doc = doc.clone();
        async move {
            let valid = schema_accepts(&doc, input, &body);
            let got = answer(&auth, &admin, "PUT", "/v1/cluster/ldap", &body).await;
            assert_eq!(got.0 == 200, valid, "{body}: {got:?}");
            if !valid {
                assert!(
                    ["invalid_request", "illegal_fields_combination"].contains(&got.1.as_str()),
                    "{body}: {got:?}"
                );
            }
            valid
        }
    };
    let template = json!("uid=%u,ou=people,dc=example,dc=org");
    let mut seen = [0u32; 2];
    for s in dn_like_strings(300) {
        for body in [
            json!({"uris": ["ldap://h"], "user_dn_template": template, "bind_dn": s, "bind_pass": "p"}),
            json!({"uris": ["ldap://h"], "user_dn_template": s}),
            json!({"uris": ["ldap://h"], "user_dn_template": template, "dn_group_attr": s}),
            json!({"uris": ["ldap://h"], "user_dn_query": {"base": s, "filter": "(uid=%u)"}}),
            json!({"uris": ["ldap://h"], "user_dn_template": template,
                "dn_group_query": {"base": s, "filter": "(member=%D)"}}),
            json!({"uris": [format!("ldap://{s}")], "user_dn_template": template}),
        ] {
            seen[usize::from(check(body).await)] += 1;
        }
    }
    assert!(seen[0] > 200 && seen[1] > 200, "{seen:?}");
    for s in [
        "ldap://h",
        "LDAPS://h:636/",
        "ldap://h:+0389",
        "ldap://h:65535",
        "ldap://h:65536",
        "ldap://h:0",
        "ldap://h:",
        "ldap://[::1]:389",
        "ldap://[::1]x",
        "ldap://h/x",
        "http://h",
        "ldap://a_b.c-d",
        "ldap://h:99999999999",
    ] {
        check(json!({"uris": [s], "user_dn_template": template})).await;
    }
    // Every combination of absent / blank / null / given / malformed for the fields the
    // rules name.
    let templates = [
        None,
        Some(json!(null)),
        Some(json!(" ")),
        Some(template.clone()),
        Some(json!("uid=x")),
    ];
    let queries = [
        None,
        Some(json!({})),
        Some(json!({"base": " ", "filter": null, "scope": "one"})),
        Some(json!({"base": "dc=x", "filter": "(uid=%u)"})),
        Some(json!({"base": "dc=x"})),
        Some(json!({"filter": "uid=%u"})),
    ];
    let attrs = [
        None,
        Some(json!("")),
        Some(json!("memberOf")),
        Some(json!("member of")),
    ];
    let group_queries = [
        None,
        Some(json!(null)),
        Some(json!({"base": "dc=x", "filter": "(member=%D)"})),
        Some(json!({"base": "dc=x", "filter": "(cn=x)"})),
    ];
    let bind_dns = [
        None,
        Some(json!("")),
        Some(json!("cn=admin,dc=x")),
        Some(json!("admin")),
    ];
    let bind_passes = [None, Some(json!("")), Some(json!("secret"))];
    let mut verdicts = [0u32; 2];
    for t in &templates {
        for q in &queries {
            for a in &attrs {
                for g in &group_queries {
                    for d in &bind_dns {
                        for p in &bind_passes {
                            let mut body = json!({"uris": ["ldap://h"]});
                            for (name, value) in [
                                ("user_dn_template", t),
                                ("user_dn_query", q),
                                ("dn_group_attr", a),
                                ("dn_group_query", g),
                                ("bind_dn", d),
                                ("bind_pass", p),
                            ] {
                                if let Some(v) = value {
                                    body[name] = v.clone();
                                }
                            }
                            verdicts[usize::from(check(body).await)] += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(verdicts[0] > 100 && verdicts[1] > 100, "{verdicts:?}");
    // What the schema cannot state, documented: a filter that does not parse, a ca_cert
    // that is no certificate.
    for body in [
        json!({"uris": ["ldap://h"], "user_dn_query": {"base": "dc=x", "filter": "((%u"}}),
        json!({"uris": ["ldap://h"], "user_dn_template": template,
            "ca_cert": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"}),
    ] {
        assert!(schema_accepts(&doc, input, &body), "{body}");
        assert_eq!(
            answer(&auth, &admin, "PUT", "/v1/cluster/ldap", &body).await,
            (400, "invalid_request".to_owned()),
            "{body}"
        );
    }
}
