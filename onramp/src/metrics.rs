//! Prometheus metrics of the on-ramp (`/metrics`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AssetLabel {
    pub asset: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

pub struct Metrics {
    registry: Registry,
    pub quotes: Family<AssetLabel, Counter>,
    pub checkouts: Counter,
    /// Webhook deliveries by outcome (`bad_signature`, `duplicate`, `paid`, ...).
    pub webhooks: Family<OutcomeLabel, Counter>,
    pub payouts_signed: Counter,
    pub payouts_confirmed: Counter,
    pub rebroadcasts: Counter,
    /// Fulfilment steps that failed and will be retried, by kind (`node`, `funds`, ...).
    pub fulfilment_errors: Family<OutcomeLabel, Counter>,
    pub refunds: Family<OutcomeLabel, Counter>,
    /// Orders per status, refreshed by the worker.
    pub orders: Family<StatusLabel, Gauge>,
    /// 1 while this instance holds the fulfilment lock.
    pub worker_active: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("dgcm_onramp");
        let m = Metrics {
            quotes: Family::default(),
            checkouts: Counter::default(),
            webhooks: Family::default(),
            payouts_signed: Counter::default(),
            payouts_confirmed: Counter::default(),
            rebroadcasts: Counter::default(),
            fulfilment_errors: Family::default(),
            refunds: Family::default(),
            orders: Family::default(),
            worker_active: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("quotes", "Quotes given, by asset", m.quotes.clone());
        registry.register("checkouts", "Checkout sessions opened", m.checkouts.clone());
        registry.register(
            "webhooks",
            "Webhook deliveries, by outcome",
            m.webhooks.clone(),
        );
        registry.register(
            "payouts_signed",
            "Payout transactions signed and recorded",
            m.payouts_signed.clone(),
        );
        registry.register(
            "payouts_confirmed",
            "Payouts that reached the required confirmations",
            m.payouts_confirmed.clone(),
        );
        registry.register(
            "rebroadcasts",
            "Recorded payouts broadcast again (after a restart, an outage or a rollback)",
            m.rebroadcasts.clone(),
        );
        registry.register(
            "fulfilment_errors",
            "Fulfilment steps that failed and will be retried, by kind",
            m.fulfilment_errors.clone(),
        );
        registry.register("refunds", "Refunds flagged and executed", m.refunds.clone());
        registry.register("orders", "Orders per status", m.orders.clone());
        registry.register(
            "worker_active",
            "1 while this instance holds the fulfilment lock",
            m.worker_active.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    pub fn webhook(&self, outcome: &str) {
        self.webhooks
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn error(&self, kind: &str) {
        self.fulfilment_errors
            .get_or_create(&OutcomeLabel {
                outcome: kind.to_string(),
            })
            .inc();
    }

    pub fn refund(&self, outcome: &str) {
        self.refunds
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.registry);
        s
    }
}
