/**
 * `target` with some members replaced. A Proxy, not a copy: every other member (including ones
 * added later, or checked with `in`) is the target's own, and methods run with the target as
 * `this`, so class instances keep their state where it is.
 */
export function withOverrides<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(t, key) {
      if (Object.prototype.hasOwnProperty.call(overrides, key)) return (overrides as Record<PropertyKey, unknown>)[key];
      const value: unknown = Reflect.get(t, key, t);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
    has: (t, key) => Object.prototype.hasOwnProperty.call(overrides, key) || Reflect.has(t, key),
  });
}
