//! Probes for the routes no case covers: made from the core's route table, so that a route
//! added to the core goes through every adapter under test before the suite has a case for it.

use std::borrow::Cow;

use authcore_core::Authenticator;
use authcore_core::http::{ApiResponse, ROUTE_TABLE, Route, find_route};

use super::cases::{Auth, Body, Case};
use super::world::Who;

/// The routes `auth` serves that none of `cases` gets a success from.
pub(super) fn routes_without_case(auth: &Authenticator, cases: &[&Case]) -> Vec<&'static Route> {
    ROUTE_TABLE
        .iter()
        .filter(|route| (route.enabled)(auth))
        .filter(|route| {
            !cases.iter().any(|case| {
                let path = case.target.split('?').next().unwrap_or_default();
                case.method == route.method
                    && (200..300).contains(&case.status)
                    && find_route(auth, case.method, path)
                        .is_ok_and(|matched| matched.template() == route.path)
            })
        })
        .collect()
}

/// The probe of `route`: its method and path with `{uid}` = `1` (the admin's own uid; for a
/// mapping route the first mapping), the admin's token, and `{}` when the route reads a body.
/// Its status is not known until the core has answered it (see [`refusal`]).
pub(super) fn case(route: &Route) -> Case {
    let body = if route.reads_body {
        Body::Text("{}")
    } else {
        Body::Empty
    };
    Case {
        method: route.method,
        target: Cow::Owned(route.path.replace("{uid}", "1")),
        auth: Auth::Jwt(Who::Admin),
        content_type: route.reads_body.then_some("application/json"),
        body,
        status: 0,
        code: None,
    }
}

/// Why the core's own answer `want` to `probe` shows that the probe did not reach the route's
/// endpoint as an admin would (no route, another method, credentials or permission refused),
/// or `None` when it did.
pub(super) fn refusal(auth: &Authenticator, probe: &Case, want: &ApiResponse) -> Option<String> {
    let path = probe.target.split('?').next().unwrap_or_default();
    if let Err(res) = find_route(auth, probe.method, path) {
        return Some(format!(
            "the probe is not routed by the core (status {}): a route whose path the suite \
             cannot fill in needs a case in authcore-testkit's adapters/cases/",
            res.status
        ));
    }
    matches!(want.status, 401 | 403).then(|| {
        format!(
            "the core refuses the admin's probe with {} ({}): add a case for the route to \
             authcore-testkit's adapters/cases/",
            want.status,
            String::from_utf8_lossy(&want.body)
        )
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use authcore_core::http::{ROUTE_TABLE, RequestParts};

    use super::*;
    use crate::ManualClock;
    use crate::adapters::compare::Judge;
    use crate::adapters::compare::tests::as_http;
    use crate::adapters::world::World;

    /// The probe machinery on every route of today's table (all of which have cases, so a run
    /// never probes them): each probe is routed and let through, and a faithful answer passes
    /// the judge while a rewritten one does not.
    #[tokio::test(flavor = "multi_thread")]
    async fn every_route_of_the_table_can_be_probed() {
        let clock = ManualClock::starting_now();
        let store = || Arc::new(authcore_memory::MemoryStore::new());
        let mut probed = 0;
        for route in ROUTE_TABLE {
            // Fresh worlds for each probe: a probe may end the admin's session (logout).
            let mut reference = World::build(store(), &clock).await.unwrap();
            let mut tested = World::build(store(), &clock).await.unwrap();
            let all: Vec<&Case> = super::super::cases::all().collect();
            assert!(routes_without_case(&reference.auth, &all).is_empty());
            assert!((route.enabled)(&reference.auth));
            let mut probe = case(route);
            let want = answer(&reference, &probe).await;
            assert_eq!(
                refusal(&reference.auth, &probe, &want),
                None,
                "{} {}",
                route.method,
                route.path
            );
            probe.status = want.status;
            let got = as_http(&answer(&tested, &probe).await);
            let mut judge = Judge {
                reference: &mut reference,
                tested: &mut tested,
                extra_headers: &[],
            };
            let label = format!("probe {probed}");
            assert_eq!(
                judge.problems(&probe, &label, &want, &got),
                Vec::<String>::new(),
                "{} {}",
                route.method,
                route.path
            );
            let mut rewritten = got;
            *rewritten.status_mut() = http::StatusCode::IM_A_TEAPOT;
            assert!(!judge.problems(&probe, &label, &want, &rewritten).is_empty());
            probed += 1;
        }
        assert_eq!(probed, ROUTE_TABLE.len());
    }

    /// The core's own answer to `probe` in `world`.
    async fn answer(world: &World, probe: &Case) -> ApiResponse {
        let token = world.tokens.get(&Who::Admin).cloned().unwrap();
        let authorization = format!("JWT {token}");
        let body: &[u8] = match probe.body {
            Body::Text(text) => text.as_bytes(),
            _ => b"",
        };
        let parts = RequestParts {
            authorization: Some(authorization.as_bytes()),
            content_type: probe.content_type.map(str::as_bytes),
            body,
            query: None,
        };
        match find_route(&world.auth, probe.method, &probe.target) {
            Ok(matched) => matched.respond(&world.auth, parts).await,
            Err(res) => res,
        }
    }

    /// A route path the suite cannot reach is reported, not silently passed.
    #[tokio::test(flavor = "multi_thread")]
    async fn an_unrouted_probe_is_a_failure() {
        let clock = ManualClock::starting_now();
        let world = World::build(Arc::new(authcore_memory::MemoryStore::new()), &clock)
            .await
            .unwrap();
        let mut probe = case(&ROUTE_TABLE[0]);
        probe.target = Cow::Borrowed("/v1/no/such/route");
        let want = ApiResponse::not_found();
        let problem = refusal(&world.auth, &probe, &want).unwrap();
        assert!(problem.contains("not routed"), "{problem}");
        let admitted = case(&ROUTE_TABLE[0]);
        let mut refused = ApiResponse::not_found();
        refused.status = 403;
        assert!(refusal(&world.auth, &admitted, &refused).is_some());
    }
}
