-- The gateway's audit outbox (identity schema, owned by the gateway): sign-ins, sign-outs, refresh-token
-- reuse and API-key changes are recorded here and shipped to the audit subgraph by the gateway's relay
-- (lib/src/outbox.ts), in order and idempotently by event ID — as booking.outbox does for bookings.
CREATE TABLE "identity"."outbox" (
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
CREATE INDEX "outbox_delivered_at_sequence_idx" ON "identity"."outbox"("delivered_at", "sequence");
