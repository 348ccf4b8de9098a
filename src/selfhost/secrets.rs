//! The deploy's secrets, failing closed. A deployed worker with a secret
//! missing serves no platform and no chat route; the public development
//! key is used only when the process says it is local (`HEADSTART_LOCAL=1`,
//! set by `npm start` and the tests), never as a silent default.

/// The environment's secret key that `npm start` and the tests use. It is
/// public (it is in this repository): a deploy that sets it is refused.
pub const DEV_SECRET_KEY: &str = "tr_dev_headstart_local";
/// The signing key of session tokens in local mode (public too).
pub const DEV_SIGNING_KEY: &str = "headstart-local-signing-key";

/// The platform's secrets: the environment's secret key (the route handler
/// and the agent authenticate with it) and the key that signs chat tokens,
/// a secret of its own.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets {
    pub secret_key: String,
    pub signing_key: Vec<u8>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

/// Secrets a deploy lacks, by name (never by value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not configured: {} (set with `wrangler secret put NAME`; HEADSTART_LOCAL=1 is for local runs only)", .0.join(", "))]
pub struct Missing(pub Vec<&'static str>);

impl Missing {
    /// `503 {"error", "code": "missing_secret", "missing": [names]}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "error": self.to_string(), "code": "missing_secret", "missing": self.0 }).to_string()
    }
}

/// Whether the process said it is local (`HEADSTART_LOCAL` is `1` or `true`).
pub fn is_local(var: &impl Fn(&str) -> Option<String>) -> bool {
    var("HEADSTART_LOCAL").is_some_and(|v| matches!(v.trim(), "1" | "true"))
}

/// The platform's secrets from `TRIGGER_SECRET_KEY` and
/// `HEADSTART_SIGNING_KEY`. Locally a missing one takes its public
/// development value; deployed, a missing one (or the public development
/// key itself) is refused.
pub fn platform_secrets(var: impl Fn(&str) -> Option<String>) -> Result<Secrets, Missing> {
    let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let local = is_local(&var);
    let mut missing = Vec::new();
    let secret_key = match var("TRIGGER_SECRET_KEY") {
        Some(k) if local || k != DEV_SECRET_KEY => k,
        None if local => DEV_SECRET_KEY.into(),
        _ => {
            missing.push("TRIGGER_SECRET_KEY");
            String::new()
        }
    };
    let signing_key = match var("HEADSTART_SIGNING_KEY") {
        Some(k) if local || (k != DEV_SIGNING_KEY && k != secret_key) => k,
        None if local => DEV_SIGNING_KEY.into(),
        _ => {
            missing.push("HEADSTART_SIGNING_KEY");
            String::new()
        }
    };
    if missing.is_empty() {
        Ok(Secrets { secret_key, signing_key: signing_key.into_bytes() })
    } else {
        Err(Missing(missing))
    }
}

/// The secret key for a remote platform (`TRIGGER_API_URL`): required when
/// deployed; the development key locally.
pub fn remote_secret_key(var: impl Fn(&str) -> Option<String>) -> Result<String, Missing> {
    let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    match var("TRIGGER_SECRET_KEY") {
        Some(k) if is_local(&var) || k != DEV_SECRET_KEY => Ok(k),
        None if is_local(&var) => Ok(DEV_SECRET_KEY.into()),
        _ => Err(Missing(vec!["TRIGGER_SECRET_KEY"])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn a_deploy_without_its_secrets_is_refused_by_name() {
        let e = platform_secrets(vars(&[])).unwrap_err();
        assert_eq!(e.0, ["TRIGGER_SECRET_KEY", "HEADSTART_SIGNING_KEY"]);
        let json: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(json["code"], "missing_secret");
        assert_eq!(json["missing"], serde_json::json!(["TRIGGER_SECRET_KEY", "HEADSTART_SIGNING_KEY"]));
        let e = platform_secrets(vars(&[("TRIGGER_SECRET_KEY", "tr_prod_x")])).unwrap_err();
        assert_eq!(e.0, ["HEADSTART_SIGNING_KEY"], "the signing key is a secret of its own");
        assert_eq!(remote_secret_key(vars(&[])).unwrap_err().0, ["TRIGGER_SECRET_KEY"]);
        assert!(platform_secrets(vars(&[("TRIGGER_SECRET_KEY", "  "), ("HEADSTART_SIGNING_KEY", "s")])).is_err());
    }

    #[test]
    fn the_public_keys_never_serve_a_deploy() {
        let dev = [("TRIGGER_SECRET_KEY", DEV_SECRET_KEY), ("HEADSTART_SIGNING_KEY", "a-real-one")];
        assert_eq!(platform_secrets(vars(&dev)).unwrap_err().0, ["TRIGGER_SECRET_KEY"]);
        let dev_signing = [("TRIGGER_SECRET_KEY", "tr_prod_x"), ("HEADSTART_SIGNING_KEY", DEV_SIGNING_KEY)];
        assert_eq!(platform_secrets(vars(&dev_signing)).unwrap_err().0, ["HEADSTART_SIGNING_KEY"]);
        let same = [("TRIGGER_SECRET_KEY", "tr_prod_x"), ("HEADSTART_SIGNING_KEY", "tr_prod_x")];
        assert_eq!(platform_secrets(vars(&same)).unwrap_err().0, ["HEADSTART_SIGNING_KEY"], "not the secret key again");
        assert!(remote_secret_key(vars(&[("TRIGGER_SECRET_KEY", DEV_SECRET_KEY)])).is_err());
    }

    #[test]
    fn local_runs_say_so_and_get_the_development_keys() {
        let local = [("HEADSTART_LOCAL", "1")];
        let s = platform_secrets(vars(&local)).unwrap();
        assert_eq!((s.secret_key.as_str(), s.signing_key.as_slice()), (DEV_SECRET_KEY, DEV_SIGNING_KEY.as_bytes()));
        assert_eq!(remote_secret_key(vars(&local)).unwrap(), DEV_SECRET_KEY);
        assert!(platform_secrets(vars(&[("HEADSTART_LOCAL", "0")])).is_err());
        let set = [("HEADSTART_LOCAL", "true"), ("TRIGGER_SECRET_KEY", "k"), ("HEADSTART_SIGNING_KEY", "s")];
        assert_eq!(platform_secrets(vars(&set)).unwrap().secret_key, "k");
        assert_eq!(format!("{:?}", platform_secrets(vars(&set)).unwrap()), "Secrets { .. }", "Debug shows no key");
    }
}
