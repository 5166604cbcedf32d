-- Innkeep initial schema: one PostgreSQL schema per subgraph.
CREATE SCHEMA IF NOT EXISTS "hotel";
CREATE SCHEMA IF NOT EXISTS "booking";
CREATE SCHEMA IF NOT EXISTS "pms";
CREATE SCHEMA IF NOT EXISTS "audit";

-- btree_gist lets one exclusion constraint mix equality (room) and overlap (dates).
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- ───────────── hotel ─────────────
CREATE TYPE "hotel"."RoomStatus" AS ENUM ('CLEAN', 'DIRTY', 'INSPECTED', 'OUT_OF_ORDER');

CREATE TABLE "hotel"."hotels" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "timezone" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "address_line1" TEXT NOT NULL,
    "address_line2" TEXT,
    "city" TEXT NOT NULL,
    "postal_code" TEXT NOT NULL,
    "country" CHAR(2) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "hotels_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "hotels_slug_key" ON "hotel"."hotels"("slug");

CREATE TABLE "hotel"."room_types" (
    "id" UUID NOT NULL,
    "hotel_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "capacity" INTEGER NOT NULL,
    "base_rate_minor" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "room_types_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "room_types_capacity_check" CHECK ("capacity" >= 1),
    CONSTRAINT "room_types_base_rate_check" CHECK ("base_rate_minor" >= 0)
);
CREATE UNIQUE INDEX "room_types_hotel_id_name_key" ON "hotel"."room_types"("hotel_id", "name");
ALTER TABLE "hotel"."room_types" ADD CONSTRAINT "room_types_hotel_id_fkey" FOREIGN KEY ("hotel_id") REFERENCES "hotel"."hotels"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "hotel"."rooms" (
    "id" UUID NOT NULL,
    "hotel_id" UUID NOT NULL,
    "room_type_id" UUID NOT NULL,
    "number" TEXT NOT NULL,
    "floor" INTEGER NOT NULL,
    "status" "hotel"."RoomStatus" NOT NULL DEFAULT 'CLEAN',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "rooms_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "rooms_hotel_id_number_key" ON "hotel"."rooms"("hotel_id", "number");
CREATE INDEX "rooms_room_type_id_idx" ON "hotel"."rooms"("room_type_id");
ALTER TABLE "hotel"."rooms" ADD CONSTRAINT "rooms_hotel_id_fkey" FOREIGN KEY ("hotel_id") REFERENCES "hotel"."hotels"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "hotel"."rooms" ADD CONSTRAINT "rooms_room_type_id_fkey" FOREIGN KEY ("room_type_id") REFERENCES "hotel"."room_types"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- ───────────── booking ─────────────
CREATE TYPE "booking"."BookingStatus" AS ENUM ('PENDING', 'CONFIRMED', 'CHECKED_IN', 'CHECKED_OUT', 'CANCELLED');

CREATE TABLE "booking"."guests" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "phone" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "guests_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "guests_email_key" ON "booking"."guests"("email");

CREATE TABLE "booking"."bookings" (
    "id" UUID NOT NULL,
    "reference" TEXT NOT NULL,
    "hotel_id" UUID NOT NULL,
    "room_id" UUID NOT NULL,
    "guest_id" UUID NOT NULL,
    "status" "booking"."BookingStatus" NOT NULL DEFAULT 'CONFIRMED',
    "check_in" DATE NOT NULL,
    "check_out" DATE NOT NULL,
    "guests" INTEGER NOT NULL DEFAULT 1,
    "total_minor" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "idempotency_key" TEXT,
    "cancel_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "bookings_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "bookings_dates_check" CHECK ("check_out" > "check_in"),
    CONSTRAINT "bookings_guests_check" CHECK ("guests" >= 1),
    -- No two active bookings of one room may overlap, whatever the application does.
    CONSTRAINT "bookings_no_double_booking" EXCLUDE USING gist (
        "room_id" WITH =,
        daterange("check_in", "check_out", '[)') WITH &&
    ) WHERE ("status" IN ('PENDING', 'CONFIRMED', 'CHECKED_IN'))
);
CREATE UNIQUE INDEX "bookings_reference_key" ON "booking"."bookings"("reference");
CREATE UNIQUE INDEX "bookings_idempotency_key_key" ON "booking"."bookings"("idempotency_key");
CREATE INDEX "bookings_hotel_id_check_in_idx" ON "booking"."bookings"("hotel_id", "check_in");
CREATE INDEX "bookings_room_id_check_in_idx" ON "booking"."bookings"("room_id", "check_in");
CREATE INDEX "bookings_guest_id_idx" ON "booking"."bookings"("guest_id");
ALTER TABLE "booking"."bookings" ADD CONSTRAINT "bookings_guest_id_fkey" FOREIGN KEY ("guest_id") REFERENCES "booking"."guests"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "booking"."outbox" (
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
CREATE INDEX "outbox_delivered_at_sequence_idx" ON "booking"."outbox"("delivered_at", "sequence");

-- ───────────── pms ─────────────
CREATE TYPE "pms"."PmsConnectionStatus" AS ENUM ('ACTIVE', 'ERROR', 'DISABLED');
CREATE TYPE "pms"."PmsSyncStatus" AS ENUM ('PENDING', 'SYNCED', 'FAILED');

CREATE TABLE "pms"."connections" (
    "id" UUID NOT NULL,
    "hotel_id" UUID NOT NULL,
    "vendor" TEXT NOT NULL,
    "property_code" TEXT NOT NULL,
    "status" "pms"."PmsConnectionStatus" NOT NULL DEFAULT 'ACTIVE',
    "last_sync_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "connections_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "connections_hotel_id_key" ON "pms"."connections"("hotel_id");

CREATE TABLE "pms"."reservations" (
    "booking_id" UUID NOT NULL,
    "hotel_id" UUID NOT NULL,
    "external_id" TEXT,
    "sync_status" "pms"."PmsSyncStatus" NOT NULL DEFAULT 'PENDING',
    "synced_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "reservations_pkey" PRIMARY KEY ("booking_id")
);
CREATE INDEX "reservations_hotel_id_idx" ON "pms"."reservations"("hotel_id");

-- ───────────── audit ─────────────
CREATE TABLE "audit"."events" (
    "id" UUID NOT NULL,
    "sequence" BIGSERIAL NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "resource_type" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "hotel_id" UUID,
    "correlation_id" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',
    CONSTRAINT "events_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "events_sequence_key" ON "audit"."events"("sequence");
CREATE INDEX "events_hotel_id_sequence_idx" ON "audit"."events"("hotel_id", "sequence");
CREATE INDEX "events_resource_type_resource_id_idx" ON "audit"."events"("resource_type", "resource_id");

-- The audit trail is append-only from day one: the database refuses to rewrite it.
CREATE FUNCTION "audit"."refuse_audit_rewrite"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit.events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER "events_no_update_delete" BEFORE UPDATE OR DELETE ON "audit"."events"
    FOR EACH ROW EXECUTE FUNCTION "audit"."refuse_audit_rewrite"();
CREATE TRIGGER "events_no_truncate" BEFORE TRUNCATE ON "audit"."events"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit"."refuse_audit_rewrite"();
