//! The query string: the core parses it (the adapter hands it over raw). Only `dry_run` means
//! anything; other parameters are ignored, as they always were.

use super::path::percent_decode;
use crate::error::{Error, Result};

/// The query parameter that asks for validation only.
pub const DRY_RUN_PARAM: &str = "dry_run";

/// One `application/x-www-form-urlencoded` component: `+` is a space, `%XX` an escape.
fn form_decode(raw: &str) -> Option<String> {
    percent_decode(&raw.replace('+', " "))
}

/// Whether the raw query (without the `?`) asks for a dry run.
///
/// `dry_run` alone, `dry_run=`, `dry_run=true` and `dry_run=1` ask for one (`true` in any
/// case); `dry_run=false` and `dry_run=0` do not, nor does a query without the parameter.
/// Names and values are form-decoded (`dry%5Frun=%31` is `dry_run=1`).
///
/// # Errors
/// [`Error::InvalidRequest`] for any other value, a value that is not UTF-8 once decoded, or
/// the parameter given more than once: a client that meant a dry run never gets a write.
pub(super) fn dry_run(query: Option<&str>) -> Result<bool> {
    let mut found = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(name).as_deref() != Some(DRY_RUN_PARAM) {
            continue;
        }
        if found.is_some() {
            return Err(Error::InvalidRequest(format!(
                "{DRY_RUN_PARAM}: given more than once"
            )));
        }
        let value = form_decode(value).unwrap_or_else(|| "\u{fffd}".to_owned());
        found = Some(match value.to_ascii_lowercase().as_str() {
            "" | "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(Error::InvalidRequest(format!(
                    "{DRY_RUN_PARAM}: must be empty, true, 1, false or 0"
                )));
            }
        });
    }
    Ok(found.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_values() {
        for yes in [
            "dry_run",
            "dry_run=",
            "dry_run=true",
            "dry_run=TRUE",
            "dry_run=1",
            "a=b&dry_run",
            "&&dry_run&",
            "dry%5Frun=%31",
            "x=%ff&dry_run=True",
        ] {
            assert_eq!(dry_run(Some(yes)).ok(), Some(true), "{yes}");
        }
        for no in [
            "",
            "dry_run=false",
            "dry_run=0",
            "dryrun",
            "dry_run_x=1",
            "x=dry_run",
            "a=b",
        ] {
            assert_eq!(dry_run(Some(no)).ok(), Some(false), "{no}");
        }
        assert_eq!(dry_run(None).ok(), Some(false));
        for bad in [
            "dry_run=yes",
            "dry_run=2",
            "dry_run=%ff",
            "dry_run= true",
            "dry_run&dry_run",
            "dry_run=0&dry_run=1",
        ] {
            let err = dry_run(Some(bad)).unwrap_err();
            assert_eq!(err.error_code(), "invalid_request", "{bad}");
        }
    }
}
