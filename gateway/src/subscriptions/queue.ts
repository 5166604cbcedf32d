/**
 * A subscriber's bounded event queue, read by graphql-ws as an async iterator.
 *
 * Not an `async function*`: a generator suspended in `await` cannot be returned from outside, so an
 * unsubscribe would only be seen at the next event and leak the upstream meanwhile (GUIDE §5). Here
 * `return()` takes effect at once: a pending `next()` resolves done and `onReturn` releases the upstream.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private closed = false;
  private returned = false;

  constructor(
    private readonly options: {
      capacity: number;
      /** The reader left (client `complete`, socket closed, cut off): release the source. */
      onReturn(): void;
      /** Once, when the queue ends for any reason (the reader left, or the source ended). */
      onEnd?(): void;
    },
  ) {}

  /** Hands an item to the reader; false when the queue is full (the reader is too slow) or closed. */
  push(item: T): boolean {
    if (this.closed) return false;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: item, done: false });
      return true;
    }
    if (this.items.length >= this.options.capacity) return false;
    this.items.push(item);
    return true;
  }

  /** No more items: the reader gets what is queued, then done. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.onEnd?.();
    if (this.waiting && this.items.length === 0) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  get size(): number {
    return this.items.length;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** The reader leaves (client `complete`, socket closed): drop what is queued, release the source once. */
  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.end();
    if (!this.returned) {
      this.returned = true;
      this.options.onReturn();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
