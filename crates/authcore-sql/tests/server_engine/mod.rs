//! The tests every server engine (PostgreSQL, MariaDB/MySQL) runs, written once:
//! `postgres.rs` and `mysql.rs` each expand [`server_engine_tests!`] with their engine.

/// One test per case for the engine `$engine`, on fresh databases from `$fresh_url`
/// (`common::fresh_postgres_url` or `common::fresh_mysql_url`), ignored with `$needs` unless
/// `scripts/test` started the server; `$scheme` is the URL scheme the masked URL shows.
macro_rules! server_engine_tests {
    (
        engine: $engine:expr,
        fresh_url: $fresh_url:path,
        scheme: $scheme:literal,
        needs: $needs:literal $(,)?
    ) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[ignore = $needs]
        async fn conformance() {
            let store = SqlStore::connect(&$fresh_url().await).await.unwrap();
            assert_eq!(store.engine(), $engine);
            common::conformance(store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[ignore = $needs]
        async fn admin_invariant() {
            let store = SqlStore::connect(&$fresh_url().await).await.unwrap();
            authcore_testkit::conformance::run_admin_invariant_suite(std::sync::Arc::new(store))
                .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[ignore = $needs]
        async fn admin_invariant_across_two_stores() {
            common::admin_invariant_across_two_stores(&$fresh_url().await).await;
        }

        #[tokio::test]
        #[ignore = $needs]
        async fn lockout_matches_the_policy() {
            let store = SqlStore::connect(&$fresh_url().await).await.unwrap();
            common::lockout_matches_the_policy(&store).await;
        }

        #[tokio::test]
        #[ignore = $needs]
        async fn edge_cases() {
            let store = SqlStore::connect(&$fresh_url().await).await.unwrap();
            common::edge_cases(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[ignore = $needs]
        async fn two_stores_count_exactly() {
            common::two_stores_count_exactly(&$fresh_url().await).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[ignore = $needs]
        async fn two_authenticators_share_one_budget() {
            common::two_authenticators_share_one_budget(&$fresh_url().await).await;
        }

        #[tokio::test]
        #[ignore = $needs]
        async fn migrations_are_idempotent() {
            common::migrations_are_idempotent(&$fresh_url().await).await;
        }

        #[tokio::test]
        #[ignore = $needs]
        async fn debug_masks_the_password() {
            let url = $fresh_url().await;
            assert!(
                url.contains(":authpw@"),
                "the test server's URL has a password"
            );
            let store = SqlStore::connect(&url).await.unwrap();
            let debug = format!("{store:?}");
            assert!(!debug.contains("authpw"), "{debug}");
            assert!(
                debug.contains(concat!($scheme, "://auth:****@127.0.0.1")),
                "{debug}"
            );
            assert!(!store.masked_url().contains("authpw"));
        }

        #[tokio::test]
        #[ignore = $needs]
        async fn wrong_password_is_unavailable_and_hidden() {
            let url = $fresh_url().await.replace(":authpw@", ":wrong-pw@");
            let err = SqlStore::connect(&url).await.unwrap_err();
            assert_eq!(err.error_code(), "service_unavailable", "{err:?}");
            assert!(!format!("{err:?}").contains("wrong-pw"), "{err:?}");
        }

        // Current-thread: the test pauses Tokio's clock.
        #[tokio::test]
        #[ignore = $needs]
        async fn hung_server_times_out() {
            common::hung_server_times_out(&$fresh_url().await).await;
        }

        #[tokio::test]
        #[ignore = $needs]
        async fn reservations_migration_keeps_attempts_in_flight() {
            common::reservations::reservations_migration_keeps_attempts_in_flight(
                &$fresh_url().await,
            )
            .await;
        }

        #[tokio::test]
        #[ignore = $needs]
        async fn sessions_migration_keeps_the_data() {
            common::sessions_migration_keeps_the_data(&$fresh_url().await).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[ignore = $needs]
        async fn settings_migration_keeps_the_data() {
            common::settings_migration_keeps_the_data(&$fresh_url().await).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        #[ignore = $needs]
        async fn name_migrations_keep_the_data() {
            common::names::name_migrations_keep_the_data(&$fresh_url().await)
                .await
                .close()
                .await;
        }
    };
}
