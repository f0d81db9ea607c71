/** Deeper than any message herd or its clients send; JSON.parse would build (slowly) whatever it is given. */
export const maxJsonDepth = 64;

/**
 * Whether `text` nests arrays and objects deeper than `limit`. JSON.parse accepts millions of levels,
 * taking seconds of the event loop for one 8 MiB body of brackets; this linear scan (strings skipped)
 * lets such input be refused before it is parsed.
 */
export function nestsDeeperThan(text: string, limit = maxJsonDepth): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 92)
        index++; // a backslash escapes the next character
      else if (code === 34) inString = false;
    } else if (code === 34) inString = true;
    else if (code === 91 || code === 123) {
      if (++depth > limit) return true;
    } else if (code === 93 || code === 125) depth--;
  }
  return false;
}

/** JSON.parse that refuses input nested deeper than `limit` with a SyntaxError, before parsing it. */
export function parseJsonWithDepthLimit(text: string, limit = maxJsonDepth): unknown {
  if (nestsDeeperThan(text, limit)) throw new SyntaxError(`JSON nested deeper than ${limit} levels`);
  return JSON.parse(text);
}
