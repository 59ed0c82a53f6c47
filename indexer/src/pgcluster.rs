//! A private PostgreSQL cluster started from the system's PostgreSQL binaries, for tests, the
//! demo and `dgcm index` without a `DATABASE_URL`. Data, socket and log live under one directory.
//! As root (CI, containers) the server runs as the `postgres` system user, as PostgreSQL requires.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

pub struct PgCluster {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
    as_postgres: bool,
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if p.join("initdb").exists() {
            return Ok(p);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    found.retain(|p| p.join("initdb").exists());
    found.sort();
    found
        .pop()
        .context("no PostgreSQL server binaries (initdb) found: install postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgCluster {
    /// Start (creating it on first use) a cluster in `dir` listening on 127.0.0.1:`port`.
    /// A cluster already running there is reused.
    pub fn start(dir: &Path, port: u16) -> anyhow::Result<PgCluster> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let c = PgCluster {
            bin: bin_dir()?,
            as_postgres: is_root(),
            dir,
            port,
        };
        let data = c.dir.join("data");
        if c.as_postgres {
            c.run_plain("chown", &["-R", "postgres:", &c.dir.display().to_string()])?;
        }
        if !data.join("PG_VERSION").exists() {
            c.run(
                "initdb",
                &[
                    "-D",
                    &data.display().to_string(),
                    "-U",
                    "dgcm",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            )?;
        }
        let status = c
            .command("pg_ctl", &["-D", &data.display().to_string(), "status"])
            .output()?;
        if !status.status.success() {
            let opts = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                c.dir.display()
            );
            c.run(
                "pg_ctl",
                &[
                    "-D",
                    &data.display().to_string(),
                    "-o",
                    &opts,
                    "-l",
                    &c.dir.join("server.log").display().to_string(),
                    "-w",
                    "start",
                ],
            )?;
        }
        Ok(c)
    }

    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(exe).args(args);
            cmd
        } else {
            let mut cmd = Command::new(exe);
            cmd.args(args);
            cmd
        }
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let out = self
            .command(tool, args)
            .output()
            .with_context(|| format!("running {tool}"))?;
        if !out.status.success() {
            bail!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    fn run_plain(&self, exe: &str, args: &[&str]) -> anyhow::Result<()> {
        let st = Command::new(exe).args(args).status()?;
        if !st.success() {
            bail!("{exe} {args:?} failed");
        }
        Ok(())
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://dgcm@127.0.0.1:{}/{database}", self.port)
    }

    /// Create `name` if it does not exist.
    pub fn create_database(&self, name: &str) -> anyhow::Result<String> {
        use diesel::prelude::*;
        let mut conn = diesel::PgConnection::establish(&self.url("postgres"))?;
        let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{}')",
            name.replace('\'', "")
        )))
        .get_result(&mut conn)?;
        if !exists {
            diesel::sql_query(format!("CREATE DATABASE \"{}\"", name.replace('"', "")))
                .execute(&mut conn)?;
        }
        Ok(self.url(name))
    }

    pub fn stop(&self) -> anyhow::Result<()> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.dir.join("data").display().to_string(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        )
    }
}

/// A fresh, empty database for one test: in the cluster of `DATABASE_URL` when set, otherwise in
/// a private cluster under `target/pg-test` (started once, reused by later test runs).
pub fn fresh_test_database() -> anyhow::Result<String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;
    static N: AtomicU32 = AtomicU32::new(0);
    static CLUSTER: OnceLock<Result<String, String>> = OnceLock::new();
    let name = format!(
        "dgcm_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        rand::random::<u32>()
    );
    let admin_url = match std::env::var("DATABASE_URL") {
        Ok(u) => u,
        Err(_) => CLUSTER
            .get_or_init(|| {
                let target = std::env::var("CARGO_TARGET_DIR")
                    .unwrap_or_else(|_| format!("{}/../target", env!("CARGO_MANIFEST_DIR")));
                PgCluster::start(&Path::new(&target).join("pg-test"), 55432)
                    .map(|c| c.url("postgres"))
                    .map_err(|e| format!("{e:#}"))
            })
            .clone()
            .map_err(|e| anyhow::anyhow!("starting the private test cluster: {e}"))?,
    };
    use diesel::prelude::*;
    let mut conn = diesel::PgConnection::establish(&admin_url)
        .with_context(|| format!("connecting to {admin_url}"))?;
    diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn)?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin_url);
    Ok(format!("{base}/{name}"))
}
