//! Per-client rate limit on password checks (`POST /v1/users/authorize`, the
//! `/v1/users/password` operations, and any request to a route that names a permission (the
//! users API, the settings routes) with HTTP Basic credentials, since those are checked like
//! a sign-in; the route table decides, `authcore_core::http::checks_password`): a token
//! bucket per client address (governor).
//!
//! What it does not stop: an attacker with many addresses (a botnet, a large IPv6 range
//! beyond one /64, a shared cloud egress) gets a bucket per address, so a distributed
//! password spray or distributed lockout of someone else's account is slowed only by the
//! account lockout policy; clients behind one NAT share a bucket; behind a proxy not listed
//! in --trusted-proxies every client looks like the proxy. Token refreshes and administration
//! calls with a token are not limited (they check a token, not a password).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use authcore_core::Error;
use authcore_core::http::ApiResponse;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use clap::Args;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;

use crate::cli::BoxError;

/// Options of the sign-in rate limit.
#[derive(Debug, Clone, Args)]
pub struct RateLimitArgs {
    /// Password checks per minute allowed to one client address, sustained (0: no limit).
    /// IPv6 clients are counted per /64.
    #[arg(long, env = "AUTHCORE_RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u32,

    /// Password checks one client address may make at once before the rate applies (0: no
    /// limit).
    #[arg(long, env = "AUTHCORE_RATE_LIMIT_BURST", default_value_t = 60)]
    pub rate_limit_burst: u32,

    /// Limit loopback clients (127.0.0.0/8, ::1) too; by default they are exempt.
    #[arg(long, env = "AUTHCORE_RATE_LIMIT_LOOPBACK")]
    pub rate_limit_loopback: bool,

    /// Proxies whose X-Forwarded-For is believed (comma-separated CIDRs or addresses, e.g.
    /// 10.0.0.0/8,192.0.2.7). The client is the rightmost address in X-Forwarded-For that is
    /// not a trusted proxy. Without it, the header is ignored.
    #[arg(long, env = "AUTHCORE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<IpNet>,
}

fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is neither a CIDR (10.0.0.0/8) nor an address"))
}

/// The limiter and the rules for finding the client.
#[derive(Debug)]
pub struct SignInLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    loopback: bool,
    clients: ClientResolver,
}

/// Finds a request's client address: the peer, or with a trusted proxy as the peer the
/// rightmost untrusted address of X-Forwarded-For.
#[derive(Debug, Clone, Default)]
pub struct ClientResolver {
    trusted: Vec<IpNet>,
}

impl RateLimitArgs {
    /// How client addresses are found (`--trusted-proxies`).
    pub fn client_resolver(&self) -> ClientResolver {
        ClientResolver {
            trusted: self.trusted_proxies.clone(),
        }
    }

    /// The limiter, or `None` when the rate or the burst is 0.
    pub fn limiter(&self) -> Result<Option<Arc<SignInLimiter>>, BoxError> {
        let (Some(rate), Some(burst)) = (
            NonZeroU32::new(self.rate_limit_per_minute),
            NonZeroU32::new(self.rate_limit_burst),
        ) else {
            return Ok(None);
        };
        let quota = Quota::per_minute(rate).allow_burst(burst);
        let limiter = Arc::new(SignInLimiter {
            limiter: governor::RateLimiter::keyed(quota),
            loopback: self.rate_limit_loopback,
            clients: self.client_resolver(),
        });
        // Forget clients whose bucket is full again, so memory follows the active clients.
        let weak = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(limiter) = weak.upgrade() else { break };
                limiter.limiter.retain_recent();
                limiter.limiter.shrink_to_fit();
            }
        });
        Ok(Some(limiter))
    }
}

impl ClientResolver {
    /// The client's address: the peer, or with a trusted peer the rightmost untrusted address
    /// of X-Forwarded-For.
    pub fn client(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.is_trusted(client) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(addr) => {
                    client = canonical(addr);
                    if !self.is_trusted(client) {
                        break;
                    }
                }
                // Garbage was written by whoever the last trusted hop talked to: stop there.
                Err(_) => break,
            }
        }
        client
    }

    fn is_trusted(&self, addr: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&addr))
    }
}

impl SignInLimiter {
    /// `Err` with the wait when `client` has no token left.
    fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if client.is_loopback() && !self.loopback {
            return Ok(());
        }
        self.limiter
            .check_key(&bucket(client))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}

/// The bucket of an address: itself for IPv4, its /64 for IPv6 (one host usually holds a
/// whole /64).
fn bucket(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

/// The middleware: answers 429 `too_many_requests` with `Retry-After` when the client's
/// bucket is empty.
pub async fn limit(
    State(limiter): State<Arc<SignInLimiter>>,
    req: Request,
    next: Next,
) -> Response {
    // The route table decides which requests check a password (`checks_password`).
    let checks = req.extensions().get::<MatchedPath>().is_some_and(|route| {
        authcore_core::http::checks_password(
            req.method().as_str(),
            route.as_str(),
            req.headers()
                .get(axum::http::header::AUTHORIZATION)
                .map(axum::http::HeaderValue::as_bytes),
        )
    });
    if !checks {
        return next.run(req).await;
    }
    let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() else {
        return next.run(req).await;
    };
    let client = limiter.clients.client(peer.ip(), req.headers());
    match limiter.check(client) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            tracing::info!(target: "authcore::audit", client = %client, "sign-in refused: rate limited");
            let err = Error::TooManyRequests {
                // Whole seconds, rounded up: a client that waits this long gets a token.
                retry_after: Duration::from_secs(
                    wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                ),
            };
            authcore_axum::Reply(ApiResponse::error(&err)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(trusted: &[&str]) -> SignInLimiter {
        SignInLimiter {
            limiter: governor::RateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
            loopback: false,
            clients: ClientResolver {
                trusted: trusted.iter().map(|t| parse_net(t).unwrap()).collect(),
            },
        }
    }

    fn xff(values: &[&str]) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_only() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let l = limiter(&["10.0.0.0/8", "192.0.2.7"]);
        // An untrusted peer: its header is ignored.
        assert_eq!(
            l.clients.client(ip("198.51.100.1"), &xff(&["203.0.113.9"])),
            ip("198.51.100.1")
        );
        // A trusted peer: the rightmost untrusted hop; a client cannot hide behind a
        // forged leftmost entry.
        assert_eq!(
            l.clients
                .client(ip("10.1.2.3"), &xff(&["1.1.1.1, 203.0.113.9, 10.9.9.9"])),
            ip("203.0.113.9")
        );
        assert_eq!(
            l.clients
                .client(ip("192.0.2.7"), &xff(&["203.0.113.9", "10.0.0.1"])),
            ip("203.0.113.9")
        );
        // Every hop trusted: the leftmost; garbage: the last trusted hop.
        assert_eq!(
            l.clients.client(ip("10.1.2.3"), &xff(&["10.0.0.5"])),
            ip("10.0.0.5")
        );
        assert_eq!(
            l.clients
                .client(ip("10.1.2.3"), &xff(&["nonsense, 10.0.0.5"])),
            ip("10.0.0.5")
        );
        assert_eq!(l.clients.client(ip("10.1.2.3"), &xff(&[])), ip("10.1.2.3"));
        // IPv4-mapped IPv6 is IPv4.
        assert_eq!(
            l.clients
                .client(ip("::ffff:10.1.2.3"), &xff(&["203.0.113.9"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket(a), bucket(b));
        assert_ne!(bucket(a), bucket(c));
        let l = limiter(&[]);
        assert!(l.check(a).is_ok());
        assert!(l.check(b).is_err());
        assert!(l.check(c).is_ok());
    }

    #[test]
    fn bad_proxy_lists_are_refused() {
        assert!(parse_net("10.0.0.0/33").is_err());
        assert!(parse_net("example.org").is_err());
        assert!(parse_net(" 10.0.0.1 ").is_ok());
    }
}
