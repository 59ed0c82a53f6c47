-- Indexes for the query API's listing searches (dgcm-api, `GET /api/v1/listings`). Each search
-- walks one index in its sort order, filters, and stops at `limit` rows (keyset on box_id).
-- `model = ? ORDER BY price` (the commonest dashboard search, with max_price):
CREATE INDEX listings_model_price ON listings (model, price_per_hour, box_id);
-- `region = ? AND vram >= ? ORDER BY vram DESC`:
CREATE INDEX listings_region_vram ON listings (region, vram_mib, box_id);
-- `ORDER BY vram DESC` without a region:
CREATE INDEX listings_vram ON listings (vram_mib, box_id);
-- `ORDER BY price` without a model (listings_price lacks the box_id tie-break):
CREATE INDEX listings_price_box ON listings (price_per_hour, box_id);
-- `ORDER BY newest`:
CREATE INDEX listings_height_box ON listings (height, box_id);
-- "leased": running leases (completedAt = −1) of a listing NFT, looked up per listing row.
CREATE INDEX leases_running_listing ON leases (listing_nft) WHERE completed_at < 0;
