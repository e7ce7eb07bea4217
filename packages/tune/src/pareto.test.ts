import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paretoFront } from './pareto.js';

describe('paretoFront', () => {
  it('keeps the points nothing dominates', () => {
    expect([...paretoFront([[1, 5], [2, 2], [5, 1], [3, 3], [2, 2]])].sort()).toEqual([0, 1, 2, 4]);
  });

  it('is never empty, and every point left out is dominated by one on the front', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 30 }), (points) => {
        const front = paretoFront(points);
        expect(front.size).toBeGreaterThan(0);
        points.forEach((p, i) => {
          if (front.has(i)) return;
          expect([...front].some((j) => points[j]!.every((v, k) => v <= p[k]!) && points[j]!.some((v, k) => v < p[k]!))).toBe(true);
        });
      }),
    );
  });
});
