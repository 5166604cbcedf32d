/**
 * Windows are written the way graphql-rate-limit writes them: `<n><unit>` with s, m, h or d
 * ("30s", "1m", "1h", "1d"). Sub-second windows are refused: counts live in Redis with second TTLs.
 */
const WINDOW = /^\s*(\d+)\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days)\s*$/;
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Window length in seconds, or undefined when `text` is not a window. */
export function parseWindow(text: string): number | undefined {
  const match = WINDOW.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]) * SECONDS[match[2]![0]!]!;
  return seconds >= 1 && seconds <= 31 * 86_400 ? seconds : undefined;
}

export const WINDOW_HINT = 'use <n>s, <n>m, <n>h or <n>d (e.g. "1m"), between 1 second and 31 days';

/** "1m", "1h", "90s" — the shortest exact form, for messages. */
export function formatWindow(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
