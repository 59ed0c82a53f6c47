//! DGCM worker: the provider daemon (listing, consumer auth, isolated Docker jobs, GPU metrics, completion).
