/**
 * Indices of the points no other point dominates (each objective minimised): a point is dominated
 * when another is at least as good on every objective and better on one.
 */
export function paretoFront(points: readonly (readonly number[])[]): Set<number> {
  const front = new Set<number>();
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const dominated = points.some((q, j) => j !== i && q.every((v, k) => v <= p[k]!) && q.some((v, k) => v < p[k]!));
    if (!dominated) front.add(i);
  }
  return front;
}
