-- Reverses 20261204101000_pms_connectors: stored vendor credentials, pull cursors and conflict records are
-- dropped; Mews connections go back to the single "fakepms" adapter (opera connections stay, unserved).
DROP INDEX IF EXISTS "pms"."reservations_hotel_id_external_id_idx";
ALTER TABLE "pms"."reservations"
    DROP COLUMN IF EXISTS "pushed_status",
    DROP COLUMN IF EXISTS "vendor_status",
    DROP COLUMN IF EXISTS "vendor_updated_at",
    DROP COLUMN IF EXISTS "conflict_vendor_status",
    DROP COLUMN IF EXISTS "conflict_innkeep_status",
    DROP COLUMN IF EXISTS "conflict_at";
ALTER TABLE "pms"."connections"
    DROP CONSTRAINT IF EXISTS "connections_credentials_sealed_check",
    DROP COLUMN IF EXISTS "credentials_ciphertext",
    DROP COLUMN IF EXISTS "credentials_hint",
    DROP COLUMN IF EXISTS "pull_cursor",
    DROP COLUMN IF EXISTS "last_pull_at";
UPDATE "pms"."sync_jobs" SET "vendor" = 'fakepms' WHERE "vendor" = 'mews';
UPDATE "pms"."connections" SET "vendor" = 'fakepms' WHERE "vendor" = 'mews';
