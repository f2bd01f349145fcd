/**
 * A uniform number in [0, 1) that depends only on `(seed, index)`: a counter-based generator (the
 * murmur3 finaliser over the seed and the index). Unlike a stateful stream, the n-th delay of a run
 * can be computed alone, so `computeBackoff` stays a pure function of its arguments.
 */
export function unitRandom(seed: number, index: number): number {
  const low = seed | 0;
  const high = Math.floor(seed / 4294967296) | 0;
  let h = Math.imul(low ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ high, 0xc2b2ae35);
  h ^= Math.imul((index | 0) + 0x632be5ab, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
