import { v7 as uuidv7 } from 'uuid';

export type PmsSyncPhase = 'STARTED' | 'PROGRESS' | 'COMPLETED' | 'QUEUED' | 'FAILED';

/** One step of a sync run, as `pmsSyncProgress` subscribers receive it. */
export interface PmsSyncProgress {
  hotelId: string;
  syncId: string;
  phase: PmsSyncPhase;
  total: number;
  pushed: number;
  failed: number;
  reason: string | null;
  occurredAt: Date;
}

/** PROGRESS events per run at most (one per booking for small hotels, batches for big ones). */
const PROGRESS_EVENTS_PER_RUN = 50;

/**
 * The progress of one sync run (a syncReservations call, or one attempt of a queued sync), all under
 * one syncId: STARTED once the run knows how many bookings it pushes, PROGRESS as they are pushed, then
 * exactly one of COMPLETED / QUEUED / FAILED. A run that ends before it could count still says STARTED
 * first, so every watcher sees the same sequence.
 */
export class SyncRun {
  readonly syncId = uuidv7();
  total = 0;
  pushed = 0;
  failed = 0;
  private started = false;
  private finished = false;
  private step = 1;

  constructor(
    private readonly hotelId: string,
    private readonly emit: ((progress: PmsSyncProgress) => void) | undefined,
  ) {}

  start(total: number): void {
    if (this.started) return;
    this.started = true;
    this.total = total;
    this.step = Math.max(1, Math.ceil(total / PROGRESS_EVENTS_PER_RUN));
    this.send('STARTED', null);
  }

  record(outcome: 'pushed' | 'failed'): void {
    this[outcome] += 1;
    const done = this.pushed + this.failed;
    if (done % this.step === 0 || done === this.total) this.send('PROGRESS', null);
  }

  finish(phase: 'COMPLETED' | 'QUEUED' | 'FAILED', reason: string | null): void {
    if (this.finished) return;
    this.start(this.total);
    this.finished = true;
    this.send(phase, reason);
  }

  private send(phase: PmsSyncPhase, reason: string | null): void {
    try {
      this.emit?.({ hotelId: this.hotelId, syncId: this.syncId, phase, total: this.total, pushed: this.pushed, failed: this.failed, reason, occurredAt: new Date() });
    } catch {
      /* progress is a courtesy to watchers: the sync goes on */
    }
  }
}
