// `embed_migrations!` reads indexer/migrations at compile time; tell cargo to rebuild when a
// migration is added or changed (it does not notice new folders on its own).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
