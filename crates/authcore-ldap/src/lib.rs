#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod cache;
mod config;
mod connection;
mod error;
mod escape;
mod mapping;
mod reload;
mod store;

pub use config::{LdapConfig, LdapMapping, LdapQuery, LdapScope};
pub use error::LdapConfigError;
pub use escape::{escape_dn_value, escape_filter_value, normalize_dn};
pub use reload::{ReloadableLdapStore, settings_from_file};
pub use store::LdapStore;
