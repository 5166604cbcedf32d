-- PMS connectors (subgraphs/pms/src/connectors, docs/pms.md): per-connection vendor credentials (sealed
-- with AES-256-GCM by the pms process; the database never sees them in clear), a resumable pull cursor,
-- and what the last pull saw of each reservation (for echo detection and conflicts).

-- The single "fakepms" adapter is gone: its wire style is now the Mews-like API of the same fake vendor.
-- Migrated connections have no credentials until a manager sets them (updatePmsConnection).
UPDATE "pms"."connections" SET "vendor" = 'mews' WHERE "vendor" = 'fakepms';
UPDATE "pms"."sync_jobs" SET "vendor" = 'mews' WHERE "vendor" = 'fakepms';

ALTER TABLE "pms"."connections"
    ADD COLUMN "credentials_ciphertext" TEXT,
    ADD COLUMN "credentials_hint" TEXT,
    ADD COLUMN "pull_cursor" TEXT,
    ADD COLUMN "last_pull_at" TIMESTAMPTZ(3),
    -- Sealed values look like v1.<keyId>.<iv>.<tag>.<ciphertext>: refuse anything else (e.g. plaintext JSON).
    ADD CONSTRAINT "connections_credentials_sealed_check" CHECK ("credentials_ciphertext" IS NULL OR "credentials_ciphertext" ~ '^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$');

ALTER TABLE "pms"."reservations"
    ADD COLUMN "pushed_status" TEXT,
    ADD COLUMN "vendor_status" TEXT,
    ADD COLUMN "vendor_updated_at" TIMESTAMPTZ(3),
    ADD COLUMN "conflict_vendor_status" TEXT,
    ADD COLUMN "conflict_innkeep_status" TEXT,
    ADD COLUMN "conflict_at" TIMESTAMPTZ(3);

-- Pulled reservations are matched to ours by the vendor's ID, within the hotel.
CREATE INDEX "reservations_hotel_id_external_id_idx" ON "pms"."reservations"("hotel_id", "external_id");
