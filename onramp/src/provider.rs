//! Payment-provider adapters. DGCM is not a payment processor: an operator plugs one in through
//! [`PaymentProvider`]. The first adapter, [`StripeAdapter`], speaks a Stripe-style API:
//! checkout sessions (`POST /v1/checkout/sessions`, form-encoded, `Authorization: Bearer`,
//! `Idempotency-Key`), refunds (`POST /v1/refunds`) and webhooks signed with
//! `Stripe-Signature: t=…,v1=…` (see [`crate::signature`]). In tests and the demo the simulator
//! ([`crate::simulator`]) plays the provider.

use std::time::Duration;

use actix_web::http::header::HeaderMap;
use futures::future::BoxFuture;
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::ProviderConfig;
use crate::ledger::{Action, Event};
use crate::signature;

/// What the on-ramp asks the provider to charge.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub order_id: String,
    /// ISO currency code, upper case.
    pub currency: String,
    pub amount_cents: i64,
    /// Shown to the payer.
    pub description: String,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub id: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("payment provider unreachable: {0}")]
    Transport(String),
    #[error("payment provider answered HTTP {status}: {message}")]
    Api { status: u16, message: String },
    #[error("unexpected reply from the payment provider: {0}")]
    Decode(String),
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Signature(#[from] signature::SignatureError),
    #[error("body: {0}")]
    Body(String),
}

/// A payment provider as the on-ramp uses it.
pub trait PaymentProvider: Send + Sync {
    /// The adapter's name: the `{provider}` in `/v1/webhooks/{provider}`.
    fn name(&self) -> &str;
    /// Opens a hosted checkout. Must be idempotent per `order_id`.
    fn create_checkout<'a>(
        &'a self,
        req: &'a CheckoutRequest,
    ) -> BoxFuture<'a, Result<Checkout, ProviderError>>;
    /// Refunds `amount_cents` of payment `payment_id`; idempotent per `order_id`. Returns the
    /// refund's id.
    fn refund<'a>(
        &'a self,
        order_id: &'a str,
        payment_id: &'a str,
        amount_cents: i64,
    ) -> BoxFuture<'a, Result<String, ProviderError>>;
    /// Authenticates a webhook delivery and turns it into an [`Event`].
    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<Event, WebhookError>;
}

/// The Stripe-style adapter.
pub struct StripeAdapter {
    http: reqwest::Client,
    base: String,
    api_key: String,
    webhook_secret: String,
    tolerance: Duration,
    success_url: String,
    cancel_url: String,
}

impl StripeAdapter {
    pub fn new(c: &ProviderConfig) -> anyhow::Result<StripeAdapter> {
        let base = c.api_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            anyhow::bail!("provider.api_url: {:?} is not an http(s) URL", c.api_url);
        }
        let http = reqwest::Client::builder()
            .timeout(c.timeout)
            .connect_timeout(Duration::from_secs(5).min(c.timeout))
            .build()
            .map_err(|e| anyhow::anyhow!("provider HTTP client: {e}"))?;
        Ok(StripeAdapter {
            http,
            base,
            api_key: c.api_key.clone(),
            webhook_secret: c.webhook_secret.clone(),
            tolerance: c.webhook_tolerance,
            success_url: c.success_url.clone(),
            cancel_url: c.cancel_url.clone(),
        })
    }

    async fn post_form(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(String, String)],
    ) -> Result<Value, ProviderError> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .post(&url)
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", idempotency_key)
            .form(form)
            .send()
            .await
            .map_err(|e| ProviderError::Transport(format!("{url}: {e}")))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| ProviderError::Transport(format!("{url}: {e}")))?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| {
            ProviderError::Decode(format!(
                "{url}: HTTP {status}, not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))
        })?;
        if !status.is_success() {
            let message = v["error"]["message"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string());
            return Err(ProviderError::Api {
                status: status.as_u16(),
                message,
            });
        }
        Ok(v)
    }
}

/// Stripe accepts a session expiry from 30 minutes to 24 hours ahead. The session ends with the
/// quote when it can; a shorter quote gets a 31-minute session, and a payment made after the
/// quote expired is flagged for refund by the ledger instead of filled at a stale rate.
pub fn session_expiry(quote_expires_at: OffsetDateTime) -> i64 {
    let now = signature::unix_now();
    quote_expires_at
        .unix_timestamp()
        .clamp(now + 31 * 60, now + 23 * 3600)
}

fn s(v: &str) -> String {
    v.to_string()
}

impl PaymentProvider for StripeAdapter {
    fn name(&self) -> &str {
        "stripe"
    }

    fn create_checkout<'a>(
        &'a self,
        req: &'a CheckoutRequest,
    ) -> BoxFuture<'a, Result<Checkout, ProviderError>> {
        Box::pin(async move {
            let form = vec![
                (s("mode"), s("payment")),
                (s("success_url"), self.success_url.clone()),
                (s("cancel_url"), self.cancel_url.clone()),
                (s("client_reference_id"), req.order_id.clone()),
                (s("metadata[order_id]"), req.order_id.clone()),
                (s("line_items[0][quantity]"), s("1")),
                (
                    s("line_items[0][price_data][currency]"),
                    req.currency.to_ascii_lowercase(),
                ),
                (
                    s("line_items[0][price_data][unit_amount]"),
                    req.amount_cents.to_string(),
                ),
                (
                    s("line_items[0][price_data][product_data][name]"),
                    req.description.clone(),
                ),
                (s("expires_at"), session_expiry(req.expires_at).to_string()),
            ];
            let key = format!("checkout-{}", req.order_id);
            let v = self.post_form("/v1/checkout/sessions", &key, &form).await?;
            let id = v["id"]
                .as_str()
                .ok_or_else(|| ProviderError::Decode(format!("session without id: {v}")))?;
            let url = v["url"]
                .as_str()
                .ok_or_else(|| ProviderError::Decode(format!("session without url: {v}")))?;
            Ok(Checkout {
                id: id.to_string(),
                url: url.to_string(),
            })
        })
    }

    fn refund<'a>(
        &'a self,
        order_id: &'a str,
        payment_id: &'a str,
        amount_cents: i64,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let form = vec![
                (s("payment_intent"), payment_id.to_string()),
                (s("amount"), amount_cents.to_string()),
                (s("metadata[order_id]"), order_id.to_string()),
            ];
            let key = format!("refund-{order_id}");
            let v = self.post_form("/v1/refunds", &key, &form).await?;
            v["id"]
                .as_str()
                .map(String::from)
                .ok_or_else(|| ProviderError::Decode(format!("refund without id: {v}")))
        })
    }

    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<Event, WebhookError> {
        let header = headers
            .get(signature::HEADER)
            .map(|h| h.to_str().unwrap_or("\u{fffd}"));
        signature::verify(&self.webhook_secret, header, body, self.tolerance, now)?;
        parse_stripe_event(body)
    }
}

fn field<'v>(v: &'v Value, path: &str) -> Result<&'v Value, WebhookError> {
    let mut cur = v;
    for p in path.split('.') {
        cur = cur
            .get(p)
            .ok_or_else(|| WebhookError::Body(format!("{path}: missing")))?;
    }
    Ok(cur)
}

fn text(v: &Value, path: &str) -> Result<String, WebhookError> {
    field(v, path)?
        .as_str()
        .map(String::from)
        .ok_or_else(|| WebhookError::Body(format!("{path}: not a string")))
}

/// A Stripe event (already authenticated) as a provider-neutral [`Event`].
pub fn parse_stripe_event(body: &[u8]) -> Result<Event, WebhookError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::Body(format!("not JSON: {e}")))?;
    let id = text(&v, "id")?;
    if id.is_empty() || id.len() > 255 {
        return Err(WebhookError::Body("id: empty or longer than 255".into()));
    }
    let kind = text(&v, "type")?;
    let created = field(&v, "created")?
        .as_i64()
        .ok_or_else(|| WebhookError::Body("created: not an integer".into()))?;
    let created = OffsetDateTime::from_unix_timestamp(created)
        .map_err(|e| WebhookError::Body(format!("created: {e}")))?;
    let obj = field(&v, "data.object")?;
    let session = |obj: &Value| -> Result<(String, Option<String>), WebhookError> {
        let cs = text(obj, "id")?;
        let r = obj
            .get("client_reference_id")
            .and_then(|x| x.as_str())
            .or_else(|| obj.pointer("/metadata/order_id").and_then(|x| x.as_str()))
            .map(String::from);
        Ok((cs, r))
    };
    let action = match kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let (checkout_id, order_ref) = session(obj)?;
            let payment_status = text(obj, "payment_status")?;
            if payment_status == "paid" {
                let amount_cents = field(obj, "amount_total")?
                    .as_i64()
                    .ok_or_else(|| WebhookError::Body("amount_total: not an integer".into()))?;
                Action::Paid {
                    checkout_id,
                    order_ref,
                    payment_id: text(obj, "payment_intent")?,
                    amount_cents,
                    currency: text(obj, "currency")?.to_ascii_uppercase(),
                }
            } else {
                Action::Pending {
                    checkout_id,
                    order_ref,
                }
            }
        }
        "checkout.session.async_payment_failed" | "checkout.session.expired" => {
            let (checkout_id, order_ref) = session(obj)?;
            Action::Failed {
                checkout_id,
                order_ref,
                reason: kind.clone(),
            }
        }
        k if k.starts_with("charge.dispute.") => Action::Disputed {
            payment_id: text(obj, "payment_intent")?,
            what: format!(
                "{k}: status {}, reason {}",
                obj.get("status").and_then(|x| x.as_str()).unwrap_or("?"),
                obj.get("reason").and_then(|x| x.as_str()).unwrap_or("?")
            ),
        },
        "charge.refunded" => Action::Refunded {
            payment_id: text(obj, "payment_intent")?,
            refund_id: obj
                .pointer("/refunds/data/0/id")
                .and_then(|x| x.as_str())
                .map(String::from),
        },
        _ => Action::Ignored,
    };
    Ok(Event {
        provider: "stripe".into(),
        id,
        kind,
        created,
        action,
        payload: v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stripe_events_map_to_actions() {
        let paid = json!({"id": "evt_1", "type": "checkout.session.completed", "created": 1_700_000_000,
            "data": {"object": {"id": "cs_1", "client_reference_id": "ord_1", "payment_status": "paid",
            "amount_total": 2500, "currency": "usd", "payment_intent": "pi_1"}}});
        let e = parse_stripe_event(paid.to_string().as_bytes()).unwrap();
        assert_eq!(
            e.action,
            Action::Paid {
                checkout_id: "cs_1".into(),
                order_ref: Some("ord_1".into()),
                payment_id: "pi_1".into(),
                amount_cents: 2500,
                currency: "USD".into()
            }
        );
        let mut unpaid = paid.clone();
        unpaid["data"]["object"]["payment_status"] = json!("unpaid");
        assert!(matches!(
            parse_stripe_event(unpaid.to_string().as_bytes())
                .unwrap()
                .action,
            Action::Pending { .. }
        ));
        let other = json!({"id": "evt_2", "type": "customer.created", "created": 1, "data": {"object": {}}});
        assert_eq!(
            parse_stripe_event(other.to_string().as_bytes())
                .unwrap()
                .action,
            Action::Ignored
        );
        let mut bad = paid.clone();
        bad["data"]["object"]["amount_total"] = json!("lots");
        let e = parse_stripe_event(bad.to_string().as_bytes()).unwrap_err();
        assert!(e.to_string().contains("amount_total"), "{e}");
        assert!(parse_stripe_event(b"nope").is_err());
    }
}
