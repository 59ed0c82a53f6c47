//! `dgcm bench api`: filtered listing searches over HTTP against the same query straight in SQL.
//!
//! A fresh database gets `listings` rows (and their `boxes`, a tenth of them spent older
//! versions, running leases on a twentieth, and a finished lease for every other listing: about
//! seventeen per provider, one in ten slashed) with a realistic spread of models, VRAM, prices
//! and regions. `--explain` prints each search's plan first. The API serves it in process; client tasks drive a fixed mix of filtered
//! searches for a fixed time. Then the same searches run through the same SQL on pooled
//! connections with the same concurrency, without HTTP and JSON: the database's limit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;

use crate::queries::{self, ListingFilter, ListingSort};
use crate::{ApiConfig, AppState};

#[derive(Debug, Serialize)]
pub struct ApiBench {
    pub bench: &'static str,
    pub listings: u32,
    pub seconds: f64,
    pub concurrency: usize,
    /// Filtered searches per second over HTTP.
    pub search_rps: f64,
    /// The same searches per second straight in SQL.
    pub sql_rps: f64,
    pub ratio: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The search of the mix with the slowest median, and that median.
    pub slowest_search: String,
    pub slowest_search_p50_ms: f64,
    pub goal_ratio: f64,
    pub goal_p99_ms: f64,
}

const MODELS: &[(&str, i64, i64)] = &[
    // model, VRAM MiB, typical price (mGPUC per hour)
    ("RTX 4090", 24576, 900),
    ("RTX 3090", 24576, 500),
    ("RTX 4080", 16384, 700),
    ("A100", 81920, 3000),
    ("H100", 81920, 5500),
    ("L40S", 49152, 1800),
    ("RTX A6000", 49152, 1200),
    ("T4", 16384, 250),
];

/// The search mix: what a dashboard asks (model and price caps, VRAM floors, regions, the best
/// providers first, a reputation floor).
fn searches() -> Vec<(String, ListingFilter, ListingSort)> {
    let mut v = Vec::new();
    for (i, (model, vram, price)) in MODELS.iter().enumerate() {
        let region = ["eu-west", "us-east", "ap-south"][i % 3];
        v.push((
            format!(
                "model={}&max_price={}&available=true",
                model.replace(' ', "%20"),
                price
            ),
            ListingFilter {
                model: Some(model.to_string()),
                max_price: Some(*price),
                available: Some(true),
                ..Default::default()
            },
            ListingSort::Price,
        ));
        v.push((
            format!("min_vram_mib={vram}&region={region}&sort=vram&available=true"),
            ListingFilter {
                min_vram_mib: Some(*vram),
                region: Some(region.into()),
                available: Some(true),
                ..Default::default()
            },
            ListingSort::Vram,
        ));
    }
    v.push((
        "min_gpus=4&max_price=2000".into(),
        ListingFilter {
            min_gpus: Some(4),
            max_price: Some(2000),
            ..Default::default()
        },
        ListingSort::Price,
    ));
    v.push((
        "model=RTX%204090&sort=reputation&available=true".into(),
        ListingFilter {
            model: Some("RTX 4090".into()),
            available: Some(true),
            ..Default::default()
        },
        ListingSort::Reputation,
    ));
    v.push((
        "min_reputation=0.8&max_price=1000&available=true".into(),
        ListingFilter {
            min_reputation: Some(0.8),
            max_price: Some(1000),
            available: Some(true),
            ..Default::default()
        },
        ListingSort::Price,
    ));
    v.push((
        "sort=newest".into(),
        ListingFilter::default(),
        ListingSort::Newest,
    ));
    v
}

/// Fill `listings` + `boxes` (+ running `leases`) server-side, deterministically. Every tenth
/// box is a spent earlier version of the listing before it.
fn fill(url: &str, n: u32) -> anyhow::Result<()> {
    let mut c = PgConnection::establish(url)?;
    let models: Vec<String> = MODELS.iter().map(|m| format!("'{}'", m.0)).collect();
    let vrams: Vec<String> = MODELS.iter().map(|m| m.1.to_string()).collect();
    let prices: Vec<String> = MODELS.iter().map(|m| m.2.to_string()).collect();
    // m: model index skewed to the popular cards; price ±40 % around the model's typical price.
    let sql = format!(
        "SELECT setseed(0.42);
        CREATE TEMP TABLE g AS SELECT i,
            decode(md5('box' || i) || md5('x' || i), 'hex') AS box_id,
            decode(md5('nft' || (i - (i % 10 = 9)::int)) || md5('y' || (i - (i % 10 = 9)::int)), 'hex') AS nft,
            least(floor(power(random(), 1.6) * {nm})::int, {nm} - 1) + 1 AS m,
            random() AS r, (i % 10 = 9) AS spent
          FROM generate_series(0, {last}) i;
        INSERT INTO boxes (box_id, tx_id, output_index, height, creation_height, value, ergo_tree, kind, spent_tx_id, spent_height)
          SELECT box_id, decode(md5('tx' || i) || md5('z' || i), 'hex'), 0, 1 + i / 50, 1 + i / 50, 2000000,
                 '\\x0008cd'::bytea, 'listing',
                 CASE WHEN spent THEN decode(md5('sp' || i) || md5('w' || i), 'hex') END,
                 CASE WHEN spent THEN 2 + i / 50 END
          FROM g;
        INSERT INTO listings (box_id, listing_nft, provider_pk, price_per_hour, collateral_per_hour, min_hours,
                              max_hours, vram_mib, gpu_count, benchmark_score, model, region, endpoint, stake, height)
          SELECT box_id, nft, '\\x02'::bytea || decode(md5('pk' || (i % 3000)) || md5('q' || (i % 3000)), 'hex'),
                 (((ARRAY[{prices}])[m]) * (0.6 + 0.8 * r))::bigint, 100, 1, 72,
                 (ARRAY[{vrams}])[m], (ARRAY[1, 1, 1, 2, 4, 8])[1 + (i % 6)], 5000 + (i % 5000),
                 (ARRAY[{models}])[m], (ARRAY['eu-west', 'us-east', 'ap-south', 'eu-north', 'us-west'])[1 + (i % 5)],
                 'https://p' || i || '.example:8443', 10000, 1 + i / 50
          FROM g;
        INSERT INTO leases (box_id, consumer_pk, provider_pk, listing_nft, price_per_hour, hours, payment, collateral,
                            start_height, deadline, exec_fee_cap, used_blocks, completed_at, job_spec_hash,
                            usage_commitment, height)
          SELECT decode(md5('lease' || i) || md5('l' || i), 'hex'), '\\x03'::bytea,
                 '\\x02'::bytea || decode(md5('pk' || (i % 3000)) || md5('q' || (i % 3000)), 'hex'), nft, 900, 2, 1800, 200,
                 1 + i / 50, 1000000, 1000000, 0, -1, '\\x00'::bytea, '\\x00'::bytea, 2 + i / 50
          FROM g WHERE i % 20 = 0 AND NOT spent;
        INSERT INTO boxes (box_id, tx_id, output_index, height, creation_height, value, ergo_tree, kind)
          SELECT box_id, decode(md5('ltx' || height) || md5(box_id::text), 'hex'), 0, height, height, 1000000, '\\x00'::bytea, 'lease'
          FROM leases;
        -- History: every other listing was leased before (a finished lease per provider every
        -- ~6 listings): one in ten slashed, the rest completed and finalised. Reputation and
        -- availability then read real lease histories, not empty ones.
        CREATE TEMP TABLE h AS SELECT i, nft, (i % 20 = 2) AS slashed,
            decode(md5('hl' || i) || md5('ha' || i), 'hex') AS a,
            decode(md5('hc' || i) || md5('hb' || i), 'hex') AS b,
            '\\x02'::bytea || decode(md5('pk' || (i % 3000)) || md5('q' || (i % 3000)), 'hex') AS ppk
          FROM g WHERE i % 2 = 0;
        INSERT INTO leases (box_id, consumer_pk, provider_pk, listing_nft, price_per_hour, hours, payment, collateral,
                            start_height, deadline, exec_fee_cap, used_blocks, completed_at, job_spec_hash,
                            usage_commitment, height)
          SELECT a, '\\x03'::bytea, ppk, nft, 900, 2, 1800, 200, 1 + i / 50, 61 + i / 50, 1000000, 0, -1,
                 '\\x00'::bytea, '\\x00'::bytea, 1 + i / 50 FROM h
          UNION ALL
          SELECT b, '\\x03'::bytea, ppk, nft, 900, 2, 1800, 200, 1 + i / 50, 61 + i / 50, 1000000, 55, 30 + i / 50,
                 '\\x00'::bytea, '\\x00'::bytea, 30 + i / 50 FROM h WHERE NOT slashed;
        INSERT INTO boxes (box_id, tx_id, output_index, height, creation_height, value, ergo_tree, kind, spent_tx_id, spent_height)
          SELECT a, decode(md5('hta' || i) || md5('h1' || i), 'hex'), 0, 1 + i / 50, 1 + i / 50, 1000000, '\\x00'::bytea,
                 'lease', decode(md5('hsa' || i) || md5('h2' || i), 'hex'), CASE WHEN slashed THEN 62 ELSE 30 END + i / 50 FROM h
          UNION ALL
          SELECT b, decode(md5('hsa' || i) || md5('h2' || i), 'hex'), 0, 30 + i / 50, 30 + i / 50, 1000000, '\\x00'::bytea,
                 'lease', decode(md5('hsb' || i) || md5('h3' || i), 'hex'), 95 + i / 50 FROM h WHERE NOT slashed;
        INSERT INTO inputs (tx_id, input_index, box_id, height, path)
          SELECT decode(md5('hsa' || i) || md5('h2' || i), 'hex'), 0, a, CASE WHEN slashed THEN 62 ELSE 30 END + i / 50,
                 CASE WHEN slashed THEN 4 ELSE 0 END FROM h
          UNION ALL
          SELECT decode(md5('hsb' || i) || md5('h3' || i), 'hex'), 0, b, 95 + i / 50, 1 FROM h WHERE NOT slashed;
        -- The reputation counters, as the indexer keeps them while it applies blocks.
        INSERT INTO provider_stats SELECT * FROM provider_stats_delta(0, {tip});
        INSERT INTO sync_cursor VALUES (1, {tip}, '\\x00'::bytea);
        ANALYZE;",
        nm = MODELS.len(),
        last = n - 1,
        prices = prices.join(","),
        vrams = vrams.join(","),
        models = models.join(","),
        tip = 100 + n / 50,
    );
    c.batch_execute(&sql)?;
    // A steady state before measuring, as a running index has: hint bits and the visibility
    // map set (index-only scans, no first-reader writes), and no autovacuum or checkpoint
    // starting in the middle of the run. (VACUUM cannot share a multi-statement string.)
    c.batch_execute("VACUUM (ANALYZE)")?;
    c.batch_execute("CHECKPOINT")?;
    Ok(())
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// EXPLAIN (ANALYZE, BUFFERS) of every search of the mix, run twice so the second shows a warm
/// cache, printed to stderr.
fn explain_searches(url: &str) -> anyhow::Result<()> {
    let mut c = PgConnection::establish(url)?;
    for (q, f, sort) in searches() {
        let mut plan = Vec::new();
        for _ in 0..2 {
            let mut sql = queries::listings_sql(&f, sort, None, 50);
            sql.text = format!("EXPLAIN (ANALYZE, BUFFERS) {}", sql.text);
            plan = sql.query().load::<PlanLine>(&mut c)?;
        }
        eprintln!("--- {q}");
        for l in plan {
            eprintln!("{}", l.line);
        }
    }
    Ok(())
}

/// Run against `admin_url`'s cluster (a database is created and dropped).
pub async fn run(
    admin_url: &str,
    listings: u32,
    seconds: f64,
    concurrency: usize,
    explain: bool,
) -> anyhow::Result<ApiBench> {
    let name = format!("dgcm_api_bench_{}", std::process::id());
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .ok_or_else(|| anyhow::anyhow!("database_url: {admin_url:?} has no /database"))?;
    let url = format!("{base}/{name}");
    let admin = admin_url.to_string();
    let n2 = name.clone();
    let u2 = url.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut a = PgConnection::establish(&admin)?;
        diesel::sql_query(format!("CREATE DATABASE \"{n2}\"")).execute(&mut a)?;
        dgcm_indexer::Store::connect(&u2)?;
        fill(&u2, listings)?;
        if explain {
            explain_searches(&u2)?;
        }
        Ok(())
    })
    .await??;
    let r = measure(&url, listings, seconds, concurrency).await;
    let admin = admin_url.to_string();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut a = PgConnection::establish(&admin)?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut a)?;
        Ok(())
    })
    .await??;
    r
}

async fn measure(
    url: &str,
    listings: u32,
    seconds: f64,
    concurrency: usize,
) -> anyhow::Result<ApiBench> {
    let mut config = ApiConfig::devnet(url);
    config.pool_size = concurrency as u32 + 1;
    let state = Arc::new(AppState::new(config)?);
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!(
        "http://{}/api/v1/listings?limit=50&",
        listener.local_addr()?
    );
    let server = crate::server(state.clone(), listener, 2)?;
    let handle = server.handle();
    tokio::spawn(server);
    let mix = Arc::new(searches());
    let duration = Duration::from_secs_f64(seconds);

    // HTTP: `concurrency` client tasks, each its own keep-alive connection.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    for (q, _, _) in mix.iter() {
        // Warm-up, and a check that every search is valid.
        let r = client.get(format!("{base}{q}")).send().await?;
        anyhow::ensure!(r.status().is_success(), "{q}: {}", r.status());
    }
    // One second of the mix first: caches, connections and plans warm, as in service.
    let warm = Instant::now();
    let mut w = 0;
    while warm.elapsed() < Duration::from_secs(1) {
        client
            .get(format!("{base}{}", mix[w % mix.len()].0))
            .send()
            .await?
            .bytes()
            .await?;
        w += 1;
    }
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..concurrency {
        let (client, base, mix) = (client.clone(), base.clone(), mix.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); mix.len()];
            let mut i = k;
            while t0.elapsed() < duration {
                let t = Instant::now();
                let r = client
                    .get(format!("{base}{}", mix[i % mix.len()].0))
                    .send()
                    .await?;
                anyhow::ensure!(r.status().is_success(), "HTTP {}", r.status());
                r.bytes().await?;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                lat.push(ms);
                per_query[i % mix.len()].push(ms);
                i += 1;
            }
            Ok((lat, per_query))
        }));
    }
    let mut lat = Vec::new();
    let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); mix.len()];
    for t in tasks {
        let (l, pq) = t.await??;
        lat.extend(l);
        for (acc, v) in per_query.iter_mut().zip(pq) {
            acc.extend(v);
        }
    }
    // The search whose median is slowest: what the tail is made of.
    let slowest = per_query
        .iter_mut()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(i, v)| {
            v.sort_by(f64::total_cmp);
            (i, v[v.len() / 2])
        })
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let http_s = t0.elapsed().as_secs_f64();
    handle.stop(true).await;
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];

    // SQL: the same queries, same concurrency, on pooled connections.
    let stop = Arc::new(AtomicBool::new(false));
    let t1 = Instant::now();
    let mut workers = Vec::new();
    for k in 0..concurrency {
        let (pool, mix, stop) = (state.pool.clone(), mix.clone(), stop.clone());
        workers.push(tokio::task::spawn_blocking(
            move || -> anyhow::Result<u64> {
                let mut c = pool.get()?;
                let (mut i, mut n) = (k, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    let (_, f, sort) = &mix[i % mix.len()];
                    queries::listings(&mut c, f, *sort, None, 50)?;
                    i += 1;
                    n += 1;
                }
                Ok(n)
            },
        ));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut sql_n = 0;
    for w in workers {
        sql_n += w.await??;
    }
    let sql_s = t1.elapsed().as_secs_f64();
    let search_rps = lat.len() as f64 / http_s;
    let sql_rps = sql_n as f64 / sql_s;
    Ok(ApiBench {
        bench: "api",
        listings,
        seconds,
        concurrency,
        search_rps,
        sql_rps,
        ratio: search_rps / sql_rps,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        slowest_search: slowest.map(|(i, _)| mix[i].0.clone()).unwrap_or_default(),
        slowest_search_p50_ms: slowest.map_or(0.0, |(_, ms)| ms),
        goal_ratio: 0.5,
        goal_p99_ms: 10.0,
    })
}
