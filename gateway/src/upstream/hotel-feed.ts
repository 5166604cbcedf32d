import { HOTEL_DATA_TOPIC, type EventBus } from '../../../lib/src/events.js';
import type { Logger } from '../../../lib/src/logger.js';
import type { SharedReads } from './shared-reads.js';

/**
 * Keeps the gateway's hotel cache honest across replicas: the hotel subgraph publishes `hotel-data:all`
 * after every committed catalog write, and every gateway drops its kept answers when it arrives. While
 * the feed is down (Redis unreachable) writes could go unnoticed, so the cache is off until the topic is
 * subscribed again. Without Redis (one process per service, development) only this gateway's own writes
 * invalidate, and the TTL bounds the rest.
 */
export function followHotelData(reads: SharedReads | undefined, events: EventBus | null, logger: Logger): void {
  if (!reads?.cached) return;
  if (!events?.watchFeed) {
    logger.info({ component: 'hotel-cache' }, 'no Redis: the hotel cache is invalidated by this gateway\'s own writes and its TTL only');
    return;
  }
  reads.setFeedUp(false);
  events.watchFeed(HOTEL_DATA_TOPIC, (up) => {
    reads.setFeedUp(up);
    logger[up ? 'debug' : 'warn']({ component: 'hotel-cache' }, up ? 'hotel-data feed live: cache on' : 'hotel-data feed down: cache off until it is back');
  });
  const stream = events.subscribe(HOTEL_DATA_TOPIC);
  void (async () => {
    try {
      for await (const _ of stream) reads.invalidate();
    } catch (error) {
      // A subscriber that fell behind is ended (SLOW_CONSUMER): never serve what may be stale.
      reads.setFeedUp(false);
      logger.error({ err: error, component: 'hotel-cache' }, 'hotel-data feed ended: cache off');
    }
  })();
}
