/**
 * How long a `Retry-After` header asks the client to wait (ms), or undefined when it is absent or
 * unreadable. RFC 9110 §10.2.3 allows delay-seconds (`120`) or an HTTP-date; a date is measured
 * from `nowMs`, which the caller takes from the response's own `Date` header when there is one
 * (the server's clock, so a skewed local clock does not stretch or cut the wait). A date in the
 * past is 0.
 *
 * @example
 * parseRetryAfterMs('2', 0); // 2000
 * parseRetryAfterMs('Wed, 21 Oct 2015 07:28:02 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')); // 2000
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse also reads forms that are not HTTP-dates ("2"); only names of weekdays or months pass here.
  if (!/[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
