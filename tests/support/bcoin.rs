//! A real bcoin full node (npm `bcoin@1.0.2`) in regtest on 127.0.0.1, with
//! its wallet, started and stopped by the tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// API key the test node is started with (the RPC password).
pub const API_KEY: &str = "tracer-test-key";

/// A running bcoin node; killed on drop.
pub struct Bcoin {
    child: Child,
    /// Node RPC port.
    pub port: u16,
    /// Wallet RPC port.
    pub wallet_port: u16,
    _dir: tempfile::TempDir,
}

/// The bcoin entry point installed by `npm install` in `tests/`.
pub fn bcoin_script() -> PathBuf {
    let p = super::root().join("tests/node_modules/bcoin/bin/node");
    assert!(
        p.exists(),
        "bcoin is not installed: run tests/setup.sh (npm install in tests/)"
    );
    p
}

impl Bcoin {
    /// Starts a fresh in-memory regtest node and waits until its RPC answers.
    pub fn start() -> Bcoin {
        let dir = tempfile::tempdir().unwrap();
        let (port, wallet_port) = (super::free_port(), super::free_port());
        let child = Command::new("node")
            .arg(bcoin_script())
            .args([
                "--network=regtest",
                "--memory=true",
                "--listen=false",
                "--max-outbound=1",
                "--workers=false",
                "--http-host=127.0.0.1",
                "--wallet-http-host=127.0.0.1",
                &format!("--http-port={port}"),
                &format!("--wallet-http-port={wallet_port}"),
                &format!("--api-key={API_KEY}"),
                &format!("--prefix={}", dir.path().display()),
                "--log-level=warning",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bcoin (node must be installed)");
        let mut node = Bcoin {
            child,
            port,
            wallet_port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if node.try_rpc(port, "getblockcount", json!([])).is_ok()
                && node
                    .try_rpc(wallet_port, "getwalletinfo", json!([]))
                    .is_ok()
            {
                return node;
            }
            assert!(Instant::now() < deadline, "bcoin did not start within 60 s");
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!("bcoin exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// RPC URL of the node, without credentials.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends `body` to `http_method path` (GET sends none) on `port` with the API key; returns
    /// the HTTP status and the JSON reply.
    fn send(
        &self,
        http_method: &str,
        port: u16,
        path: &str,
        body: Value,
    ) -> Result<(u16, Value), String> {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("x:{API_KEY}"));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("http://127.0.0.1:{port}{path}");
        let auth = format!("Basic {auth}");
        let mut resp = match http_method {
            "GET" => agent.get(&url).header("Authorization", &auth).call(),
            "PUT" => agent
                .put(&url)
                .header("Authorization", &auth)
                .send_json(body),
            _ => agent
                .post(&url)
                .header("Authorization", &auth)
                .send_json(body),
        }
        .map_err(|e| e.to_string())?;
        let v: Value = resp.body_mut().read_json().map_err(|e| e.to_string())?;
        Ok((resp.status().as_u16(), v))
    }

    fn try_rpc(&self, port: u16, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"method": method, "params": params, "id": 1});
        let (_, v) = self.send("POST", port, "/", body)?;
        if !v["error"].is_null() {
            return Err(format!("{method}: {}", v["error"]));
        }
        Ok(v["result"].clone())
    }

    /// Calls a node RPC method.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(self.port, method, params)
            .unwrap_or_else(|e| panic!("bcoin rpc {e}"))
    }

    /// Calls a wallet RPC method (primary wallet).
    pub fn wallet(&self, method: &str, params: Value) -> Value {
        self.try_rpc(self.wallet_port, method, params)
            .unwrap_or_else(|e| panic!("bcoin wallet rpc {e}"))
    }

    /// Calls the wallet's HTTP API (`method` `path` with a JSON body).
    pub fn wallet_http(&self, method: &str, path: &str, body: Value) -> Value {
        match self.send(method, self.wallet_port, path, body) {
            Ok((status, v)) if (200..300).contains(&status) => v,
            Ok((status, v)) => panic!("bcoin wallet {method} {path}: HTTP {status}: {v}"),
            Err(e) => panic!("bcoin wallet {method} {path}: {e}"),
        }
    }

    /// A fresh receive address of wallet `id` (created with SegWit keys if
    /// `witness` and missing), in bcoin's regtest format.
    pub fn new_address(&self, id: &str, witness: bool) -> String {
        if id != "primary" {
            self.create_wallet(id, witness);
        }
        self.address(id)
    }

    /// Creates wallet `id` (P2WPKH keys if `witness`, else P2PKH).
    pub fn create_wallet(&self, id: &str, witness: bool) {
        self.wallet_http("PUT", &format!("/wallet/{id}"), json!({"witness": witness}));
    }

    /// A fresh receive address of existing wallet `id`. The wallet RPC's
    /// `getnewaddress` of bcoin 1.0.2 prints mainnet prefixes, so the HTTP API is used.
    pub fn address(&self, id: &str) -> String {
        let v = self.wallet_http(
            "POST",
            &format!("/wallet/{id}/address"),
            json!({"account": "default"}),
        );
        v["address"].as_str().unwrap().to_string()
    }

    /// Core-format regtest address of a bcoin address (bcoin prints its own prefixes).
    pub fn core_address(&self, bcoin_addr: &str) -> String {
        let v = self.rpc("validateaddress", json!([bcoin_addr]));
        let script = bitcoin::ScriptBuf::from_hex(v["scriptPubKey"].as_str().unwrap()).unwrap();
        bitcoin::Address::from_script(&script, bitcoin::Network::Regtest)
            .unwrap()
            .to_string()
    }

    /// Waits until the primary wallet has processed the chain and can spend `btc`.
    pub fn wait_for_balance(&self, btc: f64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let bal = self.wallet("getbalance", json!([])).as_f64().unwrap_or(0.0);
            if bal >= btc {
                return;
            }
            assert!(Instant::now() < deadline, "wallet balance stuck at {bal}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Mines `n` blocks paying to `addr`; returns their hashes.
    pub fn mine(&self, n: u64, addr: &str) -> Vec<String> {
        let v = self.rpc("generatetoaddress", json!([n, addr]));
        v.as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect()
    }
}

impl Drop for Bcoin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
