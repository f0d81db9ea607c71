/**
 * The feed-forward size of a synthetic model when none is asked for: Llama's 8/3 of the
 * embedding, rounded up to a multiple of 32 so that every weight type's blocks divide it.
 */
export function defaultSynthFeedForward(embedding: number): number {
  return Math.ceil(Math.floor((embedding * 8) / 3) / 32) * 32;
}
