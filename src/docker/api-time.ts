/** Engine API time values, shared by the client and the events subscription (no imports of ours, so neither imports the other). */

/**
 * A time as the Engine API's `since`/`until` take it: seconds since the epoch with a
 * fraction (`1712345678.123456789`). A Date gives ms precision; a bigint is taken as
 * nanoseconds since the epoch. Explicit timestamps, never relative durations: DOCKER-NOTES
 * found `until=0s` drops recent events.
 */
export function toApiTimestamp(time: Date | bigint): string {
  const nanos = typeof time === 'bigint' ? time : BigInt(time.getTime()) * 1_000_000n;
  const seconds = nanos / 1_000_000_000n;
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${seconds}.${fraction}`;
}
