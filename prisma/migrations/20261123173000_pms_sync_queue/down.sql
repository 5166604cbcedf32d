-- Reverses 20261123173000_pms_sync_queue: queued PMS syncs are dropped with the table.
DROP TABLE IF EXISTS "pms"."sync_jobs";
DROP TYPE IF EXISTS "pms"."PmsSyncJobStatus";
