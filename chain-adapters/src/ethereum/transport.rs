//! The HTTP transport of [`super::rpc::EthClient`]: alloy's reqwest
//! transport, with a bound on the size of a reply. A node (or whatever
//! answers at its URL) cannot make tracer read an unbounded body: the reply
//! is read in chunks and refused once it passes the limit.

use std::task::{Context, Poll};

use alloy_json_rpc::{RequestPacket, ResponsePacket};
use alloy_transport::{TransportError, TransportErrorKind, TransportFut};

/// Default bound on one JSON-RPC reply (a batch of a block, its receipts and
/// its traces): mainnet's largest are tens of MiB.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 256 << 20;

/// JSON-RPC over HTTP POST, replies bounded to `max_bytes`.
#[derive(Clone, Debug)]
pub struct BoundedHttp {
    client: reqwest::Client,
    url: reqwest::Url,
    max_bytes: usize,
}

impl BoundedHttp {
    /// A transport to `url` through `client`, refusing replies over `max_bytes`.
    pub fn new(client: reqwest::Client, url: reqwest::Url, max_bytes: usize) -> BoundedHttp {
        BoundedHttp {
            client,
            url,
            max_bytes,
        }
    }

    fn too_large(&self, bytes: u64) -> TransportError {
        TransportErrorKind::custom_str(&format!(
            "the reply is larger than {} MiB ({bytes} bytes or more); raise --max-reply-mb if the node is trusted",
            self.max_bytes >> 20
        ))
    }

    async fn send(self, req: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let mut resp = self
            .client
            .post(self.url.clone())
            .json(&req)
            .headers(req.headers())
            .send()
            .await
            .map_err(TransportErrorKind::custom)?;
        let status = resp.status();
        if let Some(len) = resp.content_length().filter(|&l| l > self.max_bytes as u64) {
            return Err(self.too_large(len));
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.max_bytes {
                        return Err(self.too_large((body.len() + chunk.len()) as u64));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) if !status.is_success() => {
                    return Err(TransportErrorKind::http_error(
                        status.as_u16(),
                        format!("<failed to read response body: {err}>"),
                    ))
                }
                Err(err) => return Err(TransportErrorKind::custom(err)),
            }
        }
        if !status.is_success() {
            // A JSON-RPC error answered with an HTTP error status is still the
            // node's answer; anything else is the HTTP error.
            return serde_json::from_slice::<ResponsePacket>(&body).map_err(|_| {
                TransportErrorKind::http_error(
                    status.as_u16(),
                    String::from_utf8_lossy(&body).into_owned(),
                )
            });
        }
        serde_json::from_slice(&body)
            .map_err(|err| TransportError::deser_err(err, String::from_utf8_lossy(&body)))
    }
}

impl tower_service::Service<RequestPacket> for BoundedHttp {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: RequestPacket) -> Self::Future {
        Box::pin(self.clone().send(req))
    }
}
