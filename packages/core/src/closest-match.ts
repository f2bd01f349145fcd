/**
 * The candidate within edit distance 2 of `input` (3 for inputs of five or more characters;
 * case-insensitive; a prefix counts as 1), if any: how an "Unknown option 'retry'" error learns to say "did you mean 'retries'?".
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = input.length >= 5 ? 4 : 3;
  const lower = input.toLowerCase();
  for (const candidate of candidates) {
    const target = candidate.toLowerCase();
    const distance = lower.startsWith(target) || target.startsWith(lower) ? 1 : editDistance(lower, target);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}
