/**
 * Bounded concurrency over a list, for I/O-bound work in one thread.
 */

/**
 * Runs `fn` over `items` with at most `lanes` at once; results in item order. After a failure no
 * new item starts, and every running one finishes before the first error is thrown (so nothing
 * still writes into a folder while it is removed). Lanes take items as they go, so 100 000 items
 * never have 100 000 calls pending.
 */
export async function mapLanes<T, R>(items: readonly T[], lanes: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length && !failure; i = next++) {
      try {
        out[i] = await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
  if (failure) throw failure.error;
  return out;
}
