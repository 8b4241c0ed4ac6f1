//! `levin://USER[:PASSWORD]@HOST[:PORT][/DATABASE][?tls=true&ca=PATH&timeout-ms=N]`: where
//! a server is, who connects, and which database. A missing password comes from the
//! `LEVIN_PASSWORD` environment variable.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::ClientError;

/// The default port of `levin serve`.
pub const DEFAULT_PORT: u16 = 8898;

/// A parsed connection URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Database name, if the URI names one.
    pub db: Option<String>,
    /// Connect with TLS.
    pub tls: bool,
    /// The CA certificate (PEM) that signed the server's certificate.
    pub ca: Option<PathBuf>,
    /// How long a reply may take.
    pub timeout: Option<Duration>,
}

/// Whether `s` is a server URI rather than a directory.
pub fn is_uri(s: &str) -> bool {
    s.starts_with("levin://")
}

fn decode(s: &str) -> Result<String, ClientError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ClientError::Uri(format!("bad %-escape in {s:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ClientError::Uri(format!("{s:?} is not UTF-8 once decoded")))
}

impl Target {
    /// Parses a `levin://` URI.
    pub fn parse(uri: &str) -> Result<Target, ClientError> {
        let rest = uri
            .strip_prefix("levin://")
            .ok_or_else(|| ClientError::Uri(format!("{uri:?} does not start with levin://")))?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (rest, None),
        };
        let (userinfo, hostport) = authority
            .rsplit_once('@')
            .ok_or_else(|| ClientError::Uri(format!("{uri:?} names no user: levin://USER@HOST")))?;
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (decode(u)?, Some(decode(p)?)),
            None => (decode(userinfo)?, None),
        };
        if user.is_empty() {
            return Err(ClientError::Uri(format!("{uri:?} names no user")));
        }
        let password = match password {
            Some(p) => p,
            None => std::env::var("LEVIN_PASSWORD").map_err(|_| {
                ClientError::Uri(format!(
                    "{uri:?} has no password: give levin://USER:PASSWORD@HOST or set LEVIN_PASSWORD"
                ))
            })?,
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                p.parse::<u16>()
                    .map_err(|_| ClientError::Uri(format!("bad port {p:?} in {uri:?}")))?,
            ),
            _ => (hostport.to_string(), DEFAULT_PORT),
        };
        if host.is_empty() {
            return Err(ClientError::Uri(format!("{uri:?} names no host")));
        }
        let db = path.filter(|p| !p.is_empty()).map(decode).transpose()?;
        let mut t = Target {
            user,
            password,
            host,
            port,
            db,
            tls: false,
            ca: None,
            timeout: Some(crate::wire::DEFAULT_TIMEOUT),
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, "true"));
            match key {
                "tls" => t.tls = value == "true" || value == "1",
                "ca" => {
                    t.ca = Some(PathBuf::from(decode(value)?));
                    t.tls = true;
                }
                "timeout-ms" => {
                    let ms: u64 = value
                        .parse()
                        .map_err(|_| ClientError::Uri(format!("bad timeout-ms {value:?}")))?;
                    t.timeout = (ms > 0).then(|| Duration::from_millis(ms));
                }
                other => {
                    return Err(ClientError::Uri(format!(
                        "unknown URI option {other:?} (tls, ca, timeout-ms)"
                    )))
                }
            }
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        let t = Target::parse("levin://ann:p%40ss@db.example:9000/sales?ca=/tmp/ca.pem").unwrap();
        assert_eq!(
            (
                t.user.as_str(),
                t.password.as_str(),
                t.host.as_str(),
                t.port
            ),
            ("ann", "p@ss", "db.example", 9000)
        );
        assert_eq!(t.db.as_deref(), Some("sales"));
        assert!(t.tls);
        let t = Target::parse("levin://admin:x@127.0.0.1").unwrap();
        assert_eq!((t.port, t.db), (DEFAULT_PORT, None));
        let t = Target::parse("levin://admin:x@[::1]:7/d").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 7));
        for bad in [
            "http://x",
            "levin://host",
            "levin://:p@h",
            "levin://a:p@h:99999",
            "levin://a:p@h?bogus=1",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
