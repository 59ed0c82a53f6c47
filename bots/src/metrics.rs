//! Per-bot counters for `/metrics` (Prometheus text) and `/health`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BotCounts {
    pub opportunities: u64,
    pub submitted: u64,
    pub won: u64,
    pub lost: u64,
    pub errors: u64,
    pub fees_nanoerg: u64,
    /// Jobs skipped because they would earn less than `min_profit` after fees.
    pub unprofitable: u64,
}

#[derive(Default)]
pub struct BotMetrics {
    by_bot: Mutex<BTreeMap<&'static str, BotCounts>>,
    pub height: AtomicI64,
    pub rounds: AtomicI64,
    /// Unix seconds of the last completed round (health: rounds keep coming).
    pub last_round_unix: AtomicI64,
    pub node_errors: AtomicI64,
    /// Milliseconds the matcher's last policy round took (solved off the other bots' path).
    pub matcher_solve_ms: AtomicI64,
    /// Components of the book whose ε the matcher raised to stay within its work budget (orders
    /// whose values would start a price war).
    pub matcher_eps_raised: AtomicI64,
}

impl BotMetrics {
    fn with(&self, bot: &'static str, f: impl FnOnce(&mut BotCounts)) {
        let mut m = self.by_bot.lock().unwrap_or_else(|p| p.into_inner());
        f(m.entry(bot).or_default());
    }
    pub fn seen(&self, bot: &'static str) {
        self.with(bot, |c| c.opportunities += 1)
    }
    pub fn submitted(&self, bot: &'static str) {
        self.with(bot, |c| c.submitted += 1)
    }
    pub fn won(&self, bot: &'static str, fee: u64) {
        self.with(bot, |c| {
            c.won += 1;
            c.fees_nanoerg += fee
        })
    }
    pub fn lost(&self, bot: &'static str) {
        self.with(bot, |c| c.lost += 1)
    }
    pub fn unprofitable(&self, bot: &'static str) {
        self.with(bot, |c| c.unprofitable += 1)
    }
    pub fn error(&self, bot: &'static str) {
        self.with(bot, |c| c.errors += 1)
    }
    pub fn counts(&self, bot: &'static str) -> BotCounts {
        let m = self.by_bot.lock().unwrap_or_else(|p| p.into_inner());
        m.get(bot).copied().unwrap_or_default()
    }

    pub fn render(&self) -> String {
        let mut reg = Registry::default();
        type Fam = Family<Vec<(String, String)>, Counter>;
        let fams: [(&str, &str, Fam); 7] = [
            ("bot_opportunities", "Jobs the bot found", Fam::default()),
            (
                "bot_txs_submitted",
                "Transactions submitted (or printed in dry-run)",
                Fam::default(),
            ),
            (
                "bot_txs_won",
                "Submitted transactions that confirmed",
                Fam::default(),
            ),
            (
                "bot_txs_lost",
                "Attempts another transaction beat",
                Fam::default(),
            ),
            (
                "bot_errors",
                "Submissions refused for other reasons",
                Fam::default(),
            ),
            (
                "bot_fees_earned_nanoerg",
                "ERG earned by confirmed transactions",
                Fam::default(),
            ),
            (
                "bot_jobs_unprofitable",
                "Jobs skipped unsigned: they would earn less than min_profit after fees",
                Fam::default(),
            ),
        ];
        {
            let m = self.by_bot.lock().unwrap_or_else(|p| p.into_inner());
            for (bot, c) in m.iter() {
                let l = vec![("bot".to_string(), bot.to_string())];
                let vals = [
                    c.opportunities,
                    c.submitted,
                    c.won,
                    c.lost,
                    c.errors,
                    c.fees_nanoerg,
                    c.unprofitable,
                ];
                for (f, v) in fams.iter().zip(vals) {
                    f.2.get_or_create(&l).inc_by(v);
                }
            }
        }
        for (name, help, f) in fams {
            reg.register(name, help, f);
        }
        for (name, help, v) in [
            (
                "bot_height",
                "Best height seen by the last round",
                &self.height,
            ),
            ("bot_rounds", "Rounds completed", &self.rounds),
            (
                "bot_node_errors",
                "Rounds that could not reach the node",
                &self.node_errors,
            ),
            (
                "bot_matcher_solve_ms",
                "Milliseconds of the matcher's last policy round",
                &self.matcher_solve_ms,
            ),
            (
                "bot_matcher_eps_raised",
                "Book components solved with a coarser epsilon to stay within the work budget",
                &self.matcher_eps_raised,
            ),
        ] {
            let g: Gauge = Gauge::default();
            g.set(v.load(Ordering::Relaxed));
            reg.register(name, help, g);
        }
        let mut out = String::new();
        let _ = encode(&mut out, &reg);
        out
    }
}

async fn metrics(m: web::Data<BotMetrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(m.render())
}

async fn health(m: web::Data<BotMetrics>) -> HttpResponse {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let last = m.last_round_unix.load(Ordering::Relaxed);
    let ok = last > 0 && now - last < 60;
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "stalled" },
        "height": m.height.load(Ordering::Relaxed),
        "rounds": m.rounds.load(Ordering::Relaxed),
        "seconds_since_round": now - last,
    });
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// `/metrics` and `/health` on `listen`.
pub fn metrics_server(
    listen: SocketAddr,
    m: Arc<BotMetrics>,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::from(m);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(metrics))
            .route("/health", web::get().to(health))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(listen)?
    .run())
}
