//! Path templates (`/v1/users/{uid}`): matching, precedence and percent-decoding of the
//! parameters.

/// Literal segments before parameters, segment by segment.
pub(super) fn specificity(template: &str) -> Vec<bool> {
    template.split('/').map(|s| !s.starts_with('{')).collect()
}

/// The raw parameter segments when `path` fits `template`.
pub(super) fn match_template<'p>(
    template: &'static str,
    path: &'p str,
) -> Option<Vec<(&'static str, &'p str)>> {
    let mut params = Vec::new();
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(h)) => {
                if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    if h.is_empty() {
                        return None;
                    }
                    params.push((name, h));
                } else if w != h {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Decodes `%XX` escapes (others are kept as they are, as axum does); `None` when the result
/// is not UTF-8.
pub(super) fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2))
            && let (Some(h), Some(l)) = (hex(h), hex(l))
        {
            // Two hex digits: at most 0xff.
            out.push(u8::try_from(h * 16 + l).unwrap_or(u8::MAX));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{AUTHORIZE_PATH, PASSWORD_PATH, USER_PATH};

    #[test]
    fn templates() {
        assert_eq!(match_template("/v1/users", "/v1/users"), Some(vec![]));
        assert_eq!(match_template("/v1/users", "/v1/users/"), None);
        assert_eq!(
            match_template("/v1/users/{uid}", "/v1/users/7"),
            Some(vec![("uid", "7")])
        );
        assert_eq!(match_template("/v1/users/{uid}", "/v1/users/"), None);
        assert_eq!(match_template("/v1/users/{uid}", "/v1/users/7/x"), None);
        assert_eq!(match_template("/v1/users/{uid}", "/v1/users"), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn literal_segments_beat_parameters() {
        assert!(specificity(AUTHORIZE_PATH) > specificity(USER_PATH));
        assert!(specificity(PASSWORD_PATH) > specificity(USER_PATH));
    }
}
