//! `cargo run --release -p dgcm-worker --example bench_worker -- [--runs N] [--image I]`: the
//! worker benchmark without the `dgcm` binary (the same function `dgcm bench worker` calls).

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: dgcm_worker::BenchArgs,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let v = dgcm_worker::bench(&cli.args).await?;
    println!("{}", serde_json::to_string(&v)?);
    Ok(())
}
