//! `dgcm demo`: the white paper end to end, in one process, on the embedded default.
//!
//! [`Stack`] brings up what a real deployment runs — a devnet with fast blocks (the chain), a
//! PostgreSQL cluster (a private one started from the system's binaries under the data
//! directory unless `DATABASE_URL` is given), the indexer, the query API, the matcher, settler
//! and slasher bots, and Bob's worker (Docker when a daemon and the job image are there, the
//! worker's `process` runtime otherwise, with a loud warning). The scenarios then act as the
//! people of the story through the same wallet actions `dgcm tx` offers ([`dgcm_tx::Wallet`])
//! and the worker's HTTP API, and check their own results.

mod scenarios;
mod stack;

pub use scenarios::{missed_deadline, no_show, white_paper, Report};
pub use stack::{Stack, StackOptions};

use std::time::Instant;

/// Which scenarios to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    WhitePaper,
    MissedDeadline,
    NoShow,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::WhitePaper => "white-paper",
            Scenario::MissedDeadline => "missed-deadline",
            Scenario::NoShow => "no-show",
        }
    }
}

/// Prints the story for a person: to stdout normally, to stderr under `--json` (stdout then
/// carries only the JSON lines).
#[derive(Debug, Clone)]
pub struct Narrator {
    pub json: bool,
    start: Instant,
}

impl Narrator {
    pub fn new(json: bool) -> Narrator {
        Narrator {
            json,
            start: Instant::now(),
        }
    }

    pub fn say(&self, text: impl AsRef<str>) {
        let line = format!(
            "[{:6.1}s] {}",
            self.start.elapsed().as_secs_f64(),
            text.as_ref()
        );
        if self.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    pub fn warn(&self, text: impl AsRef<str>) {
        eprintln!("WARNING: {}", text.as_ref());
    }
}

/// Runs the stack and the scenarios; returns the reports (each already printed).
pub async fn run(options: StackOptions, scenarios: &[Scenario]) -> anyhow::Result<Vec<Report>> {
    let n = Narrator::new(options.json);
    let stack = Stack::start(options, n.clone()).await?;
    let mut reports = Vec::new();
    for s in scenarios {
        n.say(format!("=== scenario {} ===", s.name()));
        let r = match s {
            Scenario::WhitePaper => white_paper(&stack, &n).await,
            Scenario::MissedDeadline => missed_deadline(&stack, &n).await,
            Scenario::NoShow => no_show(&stack, &n).await,
        };
        let r = match r {
            Ok(r) => r,
            Err(e) => Report::failed(s.name(), &stack.runtime, format!("{e:#}")),
        };
        r.print(&n);
        reports.push(r);
    }
    stack.stop().await;
    Ok(reports)
}
