-- PMS write queue: a sync that could not reach the vendor (down, timing out, circuit open) is stored here
-- and retried by the pms process's worker with backoff until the vendor is back — never silently dropped.
-- At most one PENDING job per hotel: a sync pushes all of the hotel's current bookings, so later requests
-- coalesce into the waiting job.
CREATE TYPE "pms"."PmsSyncJobStatus" AS ENUM ('PENDING', 'COMPLETED', 'CANCELLED');

CREATE TABLE "pms"."sync_jobs" (
    "id" UUID NOT NULL,
    "hotel_id" UUID NOT NULL,
    "vendor" TEXT NOT NULL,
    "status" "pms"."PmsSyncJobStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL,
    "locked_until" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "correlation_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "completed_at" TIMESTAMPTZ(3),
    CONSTRAINT "sync_jobs_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "sync_jobs_attempts_check" CHECK ("attempts" >= 0)
);
-- Partial indexes (not expressible in schema.prisma): one waiting job per hotel; the worker's due scan.
CREATE UNIQUE INDEX "sync_jobs_one_pending_per_hotel" ON "pms"."sync_jobs"("hotel_id") WHERE "status" = 'PENDING';
CREATE INDEX "sync_jobs_due_idx" ON "pms"."sync_jobs"("vendor", "next_attempt_at") WHERE "status" = 'PENDING';
CREATE INDEX "sync_jobs_hotel_id_idx" ON "pms"."sync_jobs"("hotel_id");
