//! Issue #11 item 3: one authorization decision, as permissions. The default policy against
//! Redis Enterprise's role/permission table (facts file, section 8), the route table naming a
//! permission on every route, and the decision made on the caller's *current* role in the
//! store, on every route, at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use authcore::http::{ROUTE_TABLE, RequestParts, Route, dispatch};
use authcore::{
    Access, Authenticator, CreateUser, CustomPermission, Permission, PermissionPolicy, Role, Ttl,
    UserAdmin, UserId, UserUpdate,
};
use authcore_memory::MemoryStore;
use authcore_testkit::fixtures;
use authcore_testkit::permissions::may;
use base64::Engine as _;
use serde_json::Value;

/// Section 8 of the facts file, as a table: the admin-only permissions and
/// `view_cluster_info` for every role but `none`.
const ADMIN_ONLY: [&str; 13] = [
    "view_all_users_info",
    "view_user_info",
    "update_user",
    "create_new_user",
    "delete_user",
    "config_ldap",
    "view_ldap_config",
    "create_ldap_mapping",
    "update_ldap_mapping",
    "delete_ldap_mapping",
    "view_all_ldap_mappings_info",
    "view_ldap_mapping_info",
    "update_cluster",
];
const ROLES: [&str; 6] = [
    "admin",
    "cluster_member",
    "cluster_viewer",
    "db_member",
    "db_viewer",
    "none",
];

fn expected(role: &str, permission: &str) -> bool {
    if permission == "view_cluster_info" {
        role != "none"
    } else {
        assert!(ADMIN_ONLY.contains(&permission), "{permission}");
        role == "admin"
    }
}

fn memory_auth(permissions: PermissionPolicy) -> (Authenticator, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let auth = support::directory_builder(&store)
        .permissions(permissions)
        .build()
        .unwrap();
    (auth, store)
}

#[tokio::test]
async fn the_default_policy_is_redis_section_8() {
    // Every built-in permission is in the table, and every name of the table is built in.
    assert_eq!(Permission::BUILT_IN.len(), ADMIN_ONLY.len() + 1);
    for name in ADMIN_ONLY.iter().chain(&["view_cluster_info"]) {
        assert_eq!(Permission::built_in(name).unwrap().name(), *name);
    }
    let policy = PermissionPolicy::default();
    assert_eq!(policy, PermissionPolicy::redis());
    let (auth, _) = memory_auth(PermissionPolicy::default());
    for role in ROLES {
        let role = Role::new(role);
        for permission in Permission::BUILT_IN {
            let want = expected(role.as_str(), permission.name());
            assert_eq!(
                policy.allows(&role, &permission),
                want,
                "{role} {permission}"
            );
            // The same answer from the core's decision on a signed-in user of that role.
            assert_eq!(
                may(&auth, &role, permission).await.unwrap(),
                want,
                "{role} {permission}"
            );
        }
    }
    // A role Redis does not know holds nothing, not even view_cluster_info.
    let stranger = Role::new("stranger");
    assert!(
        !may(&auth, &stranger, Permission::ViewClusterInfo)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn an_embedding_server_extends_the_policy() {
    const VIEW_REPORTS: Permission = Permission::Custom(CustomPermission::new("view_reports"));
    let auditor = Role::new("auditor");
    let policy = PermissionPolicy::redis()
        .grant(
            auditor.clone(),
            [VIEW_REPORTS, Permission::ViewAllUsersInfo],
        )
        .revoke(&Role::ADMIN, [Permission::DeleteUser]);
    let (auth, _) = memory_auth(policy);
    assert!(may(&auth, &auditor, VIEW_REPORTS).await.unwrap());
    assert!(!may(&auth, &Role::ADMIN, VIEW_REPORTS).await.unwrap());
    assert!(
        !may(&auth, &Role::ADMIN, Permission::DeleteUser)
            .await
            .unwrap()
    );

    // The routes follow the policy: the auditor lists users, the admin may no longer delete.
    let ann = user(&auth, "ann", Role::ADMIN).await;
    let _other_admin = user(&auth, "zed", Role::ADMIN).await;
    let aud = user(&auth, "aud", auditor).await;
    let res = dispatch(&auth, "GET", "/v1/users", parts(&aud.basic, b"")).await;
    assert_eq!(res.status, 200);
    let res = dispatch(&auth, "POST", "/v1/users", parts(&aud.basic, b"{}")).await;
    assert_eq!((res.status, code(&res.body)), (403, "forbidden".into()));
    let path = format!("/v1/users/{}", aud.uid);
    let res = dispatch(&auth, "DELETE", &path, parts(&ann.basic, b"")).await;
    assert_eq!((res.status, code(&res.body)), (403, "forbidden".into()));
}

struct TestUser {
    uid: String,
    email: String,
    basic: String,
}

async fn user(auth: &Authenticator, prefix: &str, role: Role) -> TestUser {
    let email = fixtures::unique_email(prefix);
    let view = auth
        .create_user_unchecked(CreateUser {
            email: email.clone(),
            password: fixtures::password("Test-Passw0rd!"),
            name: None,
            role,
        })
        .await
        .unwrap();
    let uid = serde_json::to_value(&view.uid).unwrap().to_string();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{email}:Test-Passw0rd!"));
    TestUser {
        uid,
        email,
        basic: format!("Basic {basic}"),
    }
}

async fn token(auth: &Authenticator, u: &TestUser) -> String {
    let issued = auth
        .authorize(
            &u.email,
            &fixtures::password("Test-Passw0rd!"),
            Ttl::DEFAULT,
        )
        .await
        .unwrap();
    format!("JWT {}", issued.token)
}

fn parts<'a>(authorization: &'a str, body: &'a [u8]) -> RequestParts<'a> {
    RequestParts {
        authorization: Some(authorization.as_bytes()),
        content_type: Some(b"application/json"),
        body,
        query: None,
    }
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body).unwrap()["error_code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// A fresh LDAP mapping's uid (for the `/v1/ldap_mappings/{uid}` routes).
async fn new_mapping(auth: &Authenticator) -> u64 {
    auth.create_ldap_mapping(authcore::NewLdapMapping {
        name: fixtures::unique_email("m"),
        dn: "cn=g,dc=example,dc=org".into(),
        role: Role::DB_VIEWER,
        email: None,
        email_alerts: true,
    })
    .await
    .unwrap()
    .uid
}

/// The path and body of a request to `route` that succeeds for a caller the route lets
/// through, and whether the test knows the route (for an unknown one, `{}` and a path with
/// `target` as `{uid}`: it may be refused by the endpoint, but not by the permission check).
fn request_for(route: &Route, target: &str, mapping: u64) -> (String, Vec<u8>, bool) {
    let path = if route.path.starts_with("/v1/ldap_mappings/") {
        route.path.replace("{uid}", &mapping.to_string())
    } else {
        route.path.replace("{uid}", target)
    };
    let body = match (route.method, route.path) {
        ("GET" | "DELETE", _) => Vec::new(),
        ("POST", "/v1/users") => format!(
            r#"{{"email":"{}","password":"Test-Passw0rd!","role":"db_viewer"}}"#,
            fixtures::unique_email("new")
        )
        .into_bytes(),
        ("PUT", "/v1/users/{uid}") => format!(r#"{{"name":"Renamed {target}"}}"#).into_bytes(),
        ("PUT", "/v1/cluster") => br#"{"password_complexity":false}"#.to_vec(),
        ("PUT", "/v1/cluster/policy") => br#"{"login_lockout_threshold":5}"#.to_vec(),
        ("PUT", "/v1/cluster/ldap") => {
            br#"{"uris":["ldap://127.0.0.1:1"],"user_dn_template":"uid=%u,dc=example,dc=org"}"#
                .to_vec()
        }
        ("POST", "/v1/ldap_mappings") => format!(
            r#"{{"name":"{}","dn":"cn=g,dc=example,dc=org","role":"db_viewer"}}"#,
            fixtures::unique_email("mapping")
        )
        .into_bytes(),
        ("PUT", "/v1/ldap_mappings/{uid}") => br#"{"role":"db_member"}"#.to_vec(),
        // A route added to the table since this test was written: the permission decision
        // is still checked (403 for a role without it, let through for one with it).
        _ => return (path, b"{}".to_vec(), false),
    };
    (path, body, true)
}

/// Every route that names a permission, asked by a user whose role changes in the store while
/// its token stays the same (the store is written directly, as another process would: no
/// session ends), and by Basic credentials after a promotion through the API: the answer
/// follows the current role on the next request.
#[tokio::test]
async fn every_route_decides_on_the_current_role() {
    let (auth, store) = memory_auth(PermissionPolicy::default());
    let ann = user(&auth, "ann", Role::ADMIN).await;
    let ann_token = token(&auth, &ann).await;
    let bob = user(&auth, "bob", Role::DB_VIEWER).await;
    let bob_token = token(&auth, &bob).await;
    let bob_uid = UserId::new(bob.uid.as_str());
    let set_role = |role: Role| {
        let store = store.clone();
        let uid = bob_uid.clone();
        async move {
            store
                .update_user(
                    &uid,
                    UserUpdate {
                        role: Some(role),
                        ..UserUpdate::default()
                    },
                )
                .await
                .unwrap();
        }
    };
    let permissioned: Vec<&Route> = ROUTE_TABLE
        .iter()
        .filter(|r| r.access.permission().is_some())
        .collect();
    assert!(permissioned.len() >= 5);

    for round in 0..2 {
        for route in &permissioned {
            let Some(permission) = route.access.permission() else {
                unreachable!()
            };
            for (role, authorization) in [
                (Role::DB_VIEWER, &bob_token),
                (Role::ADMIN, &bob_token),
                (Role::NONE, &bob.basic),
                (Role::ADMIN, &bob.basic),
                (Role::CLUSTER_MEMBER, &bob_token),
            ] {
                set_role(role.clone()).await;
                let target = user(&auth, "target", Role::DB_VIEWER).await;
                let mapping = new_mapping(&auth).await;
                let (path, body, known) = request_for(route, &target.uid, mapping);
                let res = dispatch(&auth, route.method, &path, parts(authorization, &body)).await;
                let allowed = auth.may(&role, &permission);
                let want = if allowed { 200 } else { 403 };
                let as_wanted = if allowed && !known {
                    !matches!(res.status, 401 | 403 | 404 | 405)
                } else {
                    res.status == want
                };
                assert!(
                    as_wanted,
                    "status {}, want {want}: round {round}: {} {} as {role}: {}",
                    res.status,
                    route.method,
                    route.path,
                    String::from_utf8_lossy(&res.body)
                );
                if !allowed {
                    assert_eq!(code(&res.body), "forbidden");
                }
            }
            // The admin's own answer on the same request.
            let target = user(&auth, "target", Role::DB_VIEWER).await;
            let mapping = new_mapping(&auth).await;
            let (path, body, known) = request_for(route, &target.uid, mapping);
            let res = dispatch(&auth, route.method, &path, parts(&ann_token, &body)).await;
            if known {
                assert_eq!(res.status, 200, "{} {}", route.method, route.path);
            } else {
                assert!(!matches!(res.status, 401 | 403 | 404 | 405));
            }
        }
    }

    // Through the API: an admin promotes Bob (his sessions end, issue #9), Basic credentials
    // carry the new role at once, and a demotion takes it away at once.
    set_role(Role::DB_VIEWER).await;
    let bob_path = format!("/v1/users/{}", bob.uid);
    for (role, want) in [("admin", 200), ("db_viewer", 403), ("admin", 200)] {
        let body = format!(r#"{{"role":"{role}"}}"#);
        let res = dispatch(&auth, "PUT", &bob_path, parts(&ann_token, body.as_bytes())).await;
        assert_eq!(res.status, 200);
        let res = dispatch(&auth, "GET", "/v1/users", parts(&bob.basic, b"")).await;
        assert_eq!(res.status, want, "as {role}");
    }
}

/// Self-service routes: a user without the permission reads and renames themself, but may not
/// change their own role, and may not read or rename another user.
#[tokio::test]
async fn self_service_is_the_user_themself_only() {
    let (auth, _) = memory_auth(PermissionPolicy::default());
    let _ann = user(&auth, "ann", Role::ADMIN).await;
    let bob = user(&auth, "bob", Role::NONE).await;
    let carol = user(&auth, "carol", Role::NONE).await;
    let bob_token = token(&auth, &bob).await;
    for access in [Access::GET_USER, Access::UPDATE_USER] {
        assert!(matches!(access, Access::PermissionOrSelf(_)));
    }
    let own = format!("/v1/users/{}", bob.uid);
    let other = format!("/v1/users/{}", carol.uid);
    let res = dispatch(&auth, "GET", &own, parts(&bob_token, b"")).await;
    assert_eq!(res.status, 200);
    let res = dispatch(
        &auth,
        "PUT",
        &own,
        parts(&bob_token, br#"{"name":"Bobby"}"#),
    )
    .await;
    assert_eq!(res.status, 200);
    for body in [
        &br#"{"role":"admin"}"#[..],
        br#"{"status":"disabled"}"#,
        br#"{"email":"x@y.test"}"#,
    ] {
        let res = dispatch(&auth, "PUT", &own, parts(&bob_token, body)).await;
        assert_eq!((res.status, code(&res.body)), (403, "forbidden".into()));
    }
    let res = dispatch(&auth, "GET", &other, parts(&bob_token, b"")).await;
    assert_eq!((res.status, code(&res.body)), (403, "forbidden".into()));
    let res = dispatch(&auth, "PUT", &other, parts(&bob_token, br#"{"name":"X"}"#)).await;
    assert_eq!((res.status, code(&res.body)), (403, "forbidden".into()));
    let res = dispatch(&auth, "DELETE", &own, parts(&bob_token, b"")).await;
    assert_eq!((res.status, code(&res.body)), (403, "forbidden".into()));
}

/// Every route of the table names its access, and the routes that need no permission say why:
/// sign-in and documents are public, refresh, logout and the password routes act on the
/// caller's own account.
#[test]
fn every_route_names_its_access() {
    for route in ROUTE_TABLE {
        let want = match (route.method, route.path) {
            ("POST", "/v1/users/authorize")
            | ("GET", "/v1/openapi.json" | "/.well-known/jwks.json") => Access::Public,
            ("POST", "/v1/users/refresh_jwt" | "/v1/users/logout") | (_, "/v1/users/password") => {
                Access::OwnAccount
            }
            ("GET", "/v1/users") => Access::Permission(Permission::ViewAllUsersInfo),
            ("POST", "/v1/users") => Access::Permission(Permission::CreateNewUser),
            ("GET", "/v1/users/{uid}") => Access::PermissionOrSelf(Permission::ViewUserInfo),
            ("PUT", "/v1/users/{uid}") => Access::PermissionOrSelf(Permission::UpdateUser),
            ("DELETE", "/v1/users/{uid}") => Access::Permission(Permission::DeleteUser),
            _ => route.access,
        };
        assert_eq!(route.access, want, "{} {}", route.method, route.path);
    }
}

/// Every route that is not public refuses a request without credentials, with a token that is
/// not one, and with Basic credentials that are wrong (a wrong password, a name nobody has):
/// 401, before anything else is looked at (the body here would succeed for an admin).
#[tokio::test]
async fn every_route_but_the_public_ones_refuses_missing_and_wrong_credentials() {
    let (auth, _store) = memory_auth(PermissionPolicy::default());
    let ann = user(&auth, "ann", Role::ADMIN).await;
    let target = user(&auth, "target", Role::DB_VIEWER).await;
    let mapping = new_mapping(&auth).await;
    let basic = |who: &str, password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{who}:{password}"))
        )
    };
    let wrong = [
        None,
        Some("JWT not-a-token".to_owned()),
        Some("Bearer not-a-token".to_owned()),
        Some(basic(&ann.email, "Wrong-Passw0rd!")),
        Some(basic("nobody@example.org", "Test-Passw0rd!")),
    ];
    let mut asked = 0;
    for route in ROUTE_TABLE.iter().filter(|r| r.access != Access::Public) {
        if route.path == "/v1/users/password" {
            // The password routes take the caller's name and old password in the body
            // (Redis's shape): tests/server_e2e/passwords.rs covers wrong ones there.
            continue;
        }
        let (path, body, _) = request_for(route, &target.uid, mapping);
        for authorization in &wrong {
            let req = RequestParts {
                authorization: authorization.as_deref().map(str::as_bytes),
                content_type: Some(b"application/json"),
                body: &body,
                query: None,
            };
            let res = dispatch(&auth, route.method, &path, req).await;
            assert_eq!(
                res.status,
                401,
                "{} {path} with {:?}",
                route.method,
                authorization.as_deref().map(|a| a.split(' ').next())
            );
            asked += 1;
        }
    }
    assert!(asked >= 5 * 15, "{asked}");
}
