//! A real Ethereum dev node — anvil (npm `@foundry-rs/anvil-linux-amd64`) —
//! on 127.0.0.1, started and stopped by the tests, with helpers to deploy
//! the test contracts (`tests/fixtures/ethereum/contracts/compiled.json`)
//! and send transactions from its unlocked dev accounts.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A running anvil; killed on drop.
pub struct Anvil {
    child: Child,
    /// JSON-RPC port.
    pub port: u16,
    agent: ureq::Agent,
    /// The unlocked dev accounts (lowercase `0x…`), 10000 ETH each at genesis.
    pub accounts: Vec<String>,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The anvil binary installed by `npm ci` in `tests/`.
pub fn anvil_bin() -> PathBuf {
    let p = super::root().join("tests/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    assert!(
        p.exists(),
        "anvil is not installed: run tests/setup.sh (npm ci in tests/)"
    );
    p
}

/// A compiled test contract: (creation code, selectors).
pub fn contract(name: &str) -> (String, Value) {
    let text = std::fs::read_to_string(super::fixture("ethereum/contracts/compiled.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let c = &v["contracts"][name];
    (
        c["bytecode"].as_str().unwrap().to_string(),
        c["selectors"].clone(),
    )
}

/// ABI word of an address.
pub fn word_addr(a: &str) -> String {
    format!("{:0>64}", a.trim_start_matches("0x").to_ascii_lowercase())
}

/// ABI word of an integer.
pub fn word_u128(v: u128) -> String {
    format!("{v:064x}")
}

/// Calldata: selector of `signature` in `selectors`, then the argument words.
pub fn calldata(selectors: &Value, signature: &str, words: &[String]) -> String {
    let sel = selectors[signature]
        .as_str()
        .unwrap_or_else(|| panic!("no selector for {signature}"));
    let mut s = sel.to_string();
    for w in words {
        s.push_str(w);
    }
    s
}

/// `n` as a `0x` quantity.
pub fn qty(n: u128) -> String {
    format!("{n:#x}")
}

/// Parses a `0x` quantity.
pub fn parse_qty(v: &Value) -> u128 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a quantity: {v}"));
    u128::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

impl Anvil {
    /// Starts a fresh anvil (automine: one block per transaction) and waits
    /// until its RPC answers.
    pub fn start() -> Anvil {
        let port = super::free_port();
        let child = Command::new(anvil_bin())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--silent",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start anvil");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut node = Anvil {
            child,
            port,
            agent,
            accounts: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while node.try_rpc("eth_chainId", json!([])).is_err() {
            assert!(Instant::now() < deadline, "anvil did not start within 60 s");
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!("anvil exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        node.accounts = node
            .rpc("eth_accounts", json!([]))
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_ascii_lowercase())
            .collect();
        node
    }

    /// RPC URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn try_rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut resp = self
            .agent
            .post(&self.url())
            .send_json(body)
            .map_err(|e| e.to_string())?;
        let v: Value = resp.body_mut().read_json().map_err(|e| e.to_string())?;
        if !v["error"].is_null() {
            return Err(format!("{method}: {}", v["error"]));
        }
        Ok(v["result"].clone())
    }

    /// Calls an RPC method; panics on an error answer.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .unwrap_or_else(|e| panic!("anvil rpc {e}"))
    }

    /// Sends a transaction from an unlocked account and returns its receipt
    /// (anvil mines it at once).
    pub fn send(&self, from: &str, to: Option<&str>, value: u128, data: &str) -> Value {
        let mut tx = json!({"from": from, "value": qty(value)});
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        if !data.is_empty() {
            tx["data"] = json!(data);
        }
        let hash = self.rpc("eth_sendTransaction", json!([tx]));
        // Automine is quick but not synchronous: wait for the receipt.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.rpc("eth_getTransactionReceipt", json!([hash]));
            if !r.is_null() {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "transaction {hash} not mined within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends transactions (`{from, to, value, data}` objects) in one JSON-RPC
    /// batch without waiting for them to be mined.
    pub fn send_batch(&self, txs: &[Value]) {
        let body: Vec<Value> = txs
            .iter()
            .enumerate()
            .map(|(i, tx)| json!({"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction", "params": [tx]}))
            .collect();
        let mut resp = self
            .agent
            .post(&self.url())
            .send_json(Value::Array(body))
            .unwrap();
        let v: Value = resp.body_mut().read_json().unwrap();
        for r in v.as_array().unwrap() {
            assert!(r["error"].is_null(), "eth_sendTransaction: {r}");
        }
    }

    /// Lets the tests send from `addr` without its key (a fresh address
    /// with no genesis balance).
    pub fn impersonate(&self, addr: &str) {
        self.rpc("anvil_impersonateAccount", json!([addr]));
    }

    /// Deploys compiled contract `name` from `from`; returns its address.
    pub fn deploy(&self, from: &str, name: &str) -> (String, Value) {
        let (code, selectors) = contract(name);
        let r = self.send(from, None, 0, &code);
        assert_eq!(r["status"], "0x1", "deploy {name}: {r}");
        (
            r["contractAddress"].as_str().unwrap().to_string(),
            selectors,
        )
    }

    /// Wei balance of `addr` at `block` (`"latest"` or a quantity).
    pub fn balance(&self, addr: &str, block: &str) -> u128 {
        parse_qty(&self.rpc("eth_getBalance", json!([addr, block])))
    }

    /// ERC-20 `balanceOf(holder)` of `token`.
    pub fn token_balance(&self, token: &str, selectors: &Value, holder: &str) -> u128 {
        let data = calldata(selectors, "balanceOf(address)", &[word_addr(holder)]);
        let v = self.rpc("eth_call", json!([{"to": token, "data": data}, "latest"]));
        let word = v.as_str().unwrap().trim_start_matches("0x");
        assert_eq!(word.len(), 64, "balanceOf answer {v}");
        assert!(
            word[..32].bytes().all(|b| b == b'0'),
            "balance over 2^128: {v}"
        );
        u128::from_str_radix(&word[32..], 16).unwrap()
    }
}
