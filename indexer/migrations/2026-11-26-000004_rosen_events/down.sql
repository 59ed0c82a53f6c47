DROP VIEW rosen_paths; DROP TABLE rosen_events;
