-- Audit outboxes of the hotel and pms subgraphs (as booking.outbox and identity.outbox): room status
-- changes, PMS connection changes, syncs and webhook refusals are written here in the same transaction
-- as the change, and each service's relay ships them on (lib/src/audit-outbox.ts).
CREATE TABLE "hotel"."outbox" (
    "id" UUID NOT NULL,
    "sequence" BIGSERIAL NOT NULL,
    "topic" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    CONSTRAINT "outbox_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "outbox_delivered_at_sequence_idx" ON "hotel"."outbox"("delivered_at", "sequence");

CREATE TABLE "pms"."outbox" (
    "id" UUID NOT NULL,
    "sequence" BIGSERIAL NOT NULL,
    "topic" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    CONSTRAINT "outbox_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "outbox_delivered_at_sequence_idx" ON "pms"."outbox"("delivered_at", "sequence");
