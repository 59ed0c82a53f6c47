ALTER TABLE orders DROP COLUMN memory_mib, DROP COLUMN cpu_millis, DROP COLUMN pids, DROP COLUMN disk_mib,
                   DROP COLUMN capacity;
ALTER TABLE listings DROP COLUMN max_memory_mib, DROP COLUMN max_cpu_millis, DROP COLUMN max_pids,
                     DROP COLUMN max_disk_mib, DROP COLUMN busy_until, DROP COLUMN capacity;
