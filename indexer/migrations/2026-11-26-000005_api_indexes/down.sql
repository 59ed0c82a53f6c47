DROP INDEX leases_running_listing;
DROP INDEX listings_height_box;
DROP INDEX listings_price_box;
DROP INDEX listings_vram;
DROP INDEX listings_region_vram;
DROP INDEX listings_model_price;
