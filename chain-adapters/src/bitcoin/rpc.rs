//! A Bitcoin Core JSON-RPC client: the calls ingest needs, with user/password
//! (in the URL or given apart) or cookie-file authentication.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use bitcoin::BlockHash;
use serde_json::{json, Value};

use super::convert::decode_verified_new_block;
use crate::error::{Error, Result};
use crate::ledger::NewBlock;

/// Credentials for the node.
#[derive(Debug, Clone)]
pub enum RpcAuth {
    /// No `Authorization` header.
    None,
    /// HTTP basic auth.
    UserPass(String, String),
}

impl RpcAuth {
    /// Reads Bitcoin Core's `.cookie` file (`__cookie__:<password>`).
    pub fn from_cookie_file(path: &Path) -> Result<RpcAuth> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let (user, pass) = text.trim().split_once(':').ok_or_else(|| {
            Error::Usage(format!(
                "{}: not a cookie file (expected user:password)",
                path.display()
            ))
        })?;
        Ok(RpcAuth::UserPass(user.into(), pass.into()))
    }
}

/// A JSON-RPC connection to a Bitcoin node.
pub struct RpcClient {
    agent: ureq::Agent,
    url: String,
    auth: Option<String>,
    next_id: u64,
}

/// Splits `http://user:pass@host:port/` into the URL without credentials and the credentials.
pub fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let (u, p) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            (
                format!("{scheme}://{host}{path}"),
                Some((u.into(), p.into())),
            )
        }
        None => (url.to_string(), None),
    }
}

impl RpcClient {
    /// Connects lazily to `url`; credentials in the URL win over `auth`.
    pub fn new(url: &str, auth: RpcAuth, timeout: Duration) -> Result<RpcClient> {
        let (clean, creds) = split_credentials(url);
        if !clean.starts_with("http://") && !clean.starts_with("https://") {
            return Err(Error::Usage(format!(
                "RPC URL '{clean}' must start with http:// or https://"
            )));
        }
        let creds = creds.or(match auth {
            RpcAuth::UserPass(u, p) => Some((u, p)),
            RpcAuth::None => None,
        });
        let auth = creds.map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(RpcClient {
            agent,
            url: clean,
            auth,
            next_id: 0,
        })
    }

    /// The node URL without credentials.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn err(&self, method: &str, reason: impl Into<String>) -> Error {
        Error::Rpc {
            url: self.url.clone(),
            method: method.into(),
            reason: reason.into(),
        }
    }

    /// Calls `method` and returns its `result`, turning transport failures,
    /// HTTP errors, RPC errors and malformed replies into [`Error::Rpc`].
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let body =
            json!({"jsonrpc": "1.0", "id": self.next_id, "method": method, "params": params});
        let mut req = self.agent.post(&self.url);
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let mut resp = req
            .send_json(&body)
            .map_err(|e| self.err(method, e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| self.err(method, format!("reading reply: {e}")))?;
        reply_result(status, &text).map_err(|reason| self.err(method, reason))
    }

    /// The node's chain name (`main`, `test`, `regtest`, `signet`).
    pub fn chain(&mut self) -> Result<String> {
        let v = self.call("getblockchaininfo", json!([]))?;
        v.get("chain")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| self.err("getblockchaininfo", "reply has no chain"))
    }

    /// Height of the node's best chain.
    pub fn block_count(&mut self) -> Result<u64> {
        let v = self.call("getblockcount", json!([]))?;
        v.as_u64()
            .ok_or_else(|| self.err("getblockcount", format!("not a height: {v}")))
    }

    /// Hash of the node's block at `height`.
    pub fn block_hash(&mut self, height: u64) -> Result<BlockHash> {
        let v = self.call("getblockhash", json!([height]))?;
        v.as_str()
            .and_then(|s| s.parse::<BlockHash>().ok())
            .ok_or_else(|| self.err("getblockhash", format!("not a block hash: {v}")))
    }

    /// The raw block `hash` (`getblock <hash> 0`), decoded, checked and
    /// converted for the ledger at `height`.
    pub fn new_block(&mut self, hash: &BlockHash, height: u64) -> Result<NewBlock> {
        let v = self.call("getblock", json!([hash.to_string(), 0]))?;
        block_from_result(&v, hash, height).map_err(|reason| self.err("getblock", reason))
    }
}

/// The `result` of a JSON-RPC reply with HTTP status `code` and body `text`, or
/// why there is none (bad credentials, not JSON, the node's error, no result).
pub fn reply_result(code: u16, text: &str) -> std::result::Result<Value, String> {
    // With its reason phrase ("401 Unauthorized"), as the HTTP client shows it.
    let status =
        ureq::http::StatusCode::from_u16(code).map_or_else(|_| code.to_string(), |s| s.to_string());
    if code == 401 || code == 403 {
        return Err(format!(
            "HTTP {status}: check the RPC user/password or cookie file"
        ));
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("HTTP {status}: reply is not JSON ({e}): {}", preview(text)))?;
    if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
        let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(format!("node error: {msg} ({e})"));
    }
    v.get("result")
        .cloned()
        .ok_or_else(|| format!("reply has no result: {}", preview(text)))
}

/// The block of a `getblock <hash> 0` result (raw block hex), decoded,
/// checked (merkle root, and that it is block `hash`) and converted for the
/// ledger at `height`.
pub fn block_from_result(
    v: &Value,
    hash: &BlockHash,
    height: u64,
) -> std::result::Result<NewBlock, String> {
    let hex_str = v
        .as_str()
        .ok_or_else(|| format!("expected raw block hex, got {}", preview(&v.to_string())))?;
    let bytes = hex::decode(hex_str).map_err(|e| format!("bad hex: {e}"))?;
    let (got, block) =
        decode_verified_new_block(&bytes, height).map_err(|e| format!("block {hash}: {e}"))?;
    if got != *hash {
        return Err(format!("asked for {hash}, got {got}"));
    }
    Ok(block)
}

/// The first 200 characters of a reply, for an error message.
pub(crate) fn preview(s: &str) -> String {
    let mut p: String = s.chars().take(200).collect();
    if p.len() < s.len() {
        p.push('…');
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_split_from_the_url() {
        assert_eq!(
            split_credentials("http://alice:s3cret@127.0.0.1:18443/wallet/x"),
            (
                "http://127.0.0.1:18443/wallet/x".to_string(),
                Some(("alice".to_string(), "s3cret".to_string()))
            )
        );
        assert_eq!(
            split_credentials("http://127.0.0.1:8332"),
            ("http://127.0.0.1:8332".to_string(), None)
        );
    }

    #[test]
    fn a_closed_port_is_a_clear_error() {
        let mut c =
            RpcClient::new("http://127.0.0.1:9", RpcAuth::None, Duration::from_secs(2)).unwrap();
        let e = c.block_count().unwrap_err().to_string();
        assert!(
            e.contains("getblockcount") && e.contains("127.0.0.1:9"),
            "{e}"
        );
    }
}
