import { describe, expect, it } from "vitest";
import { nestsDeeperThan, parseJsonWithDepthLimit } from "./json-depth.js";

describe("nestsDeeperThan", () => {
  it.each([
    ["[]", 1, false],
    ["[[]]", 1, true],
    ['{"a":{"b":[1,2]}}', 3, false],
    ['{"a":{"b":[1,2]}}', 2, true],
    ['["[[[[[[", "\\"[[[["]', 1, false],
    ['{"a":"}}}}"}', 1, false],
  ])("%s with limit %d: %s", (text, limit, deeper) => {
    expect(nestsDeeperThan(text, limit)).toBe(deeper);
  });

  it("refuses megabytes of brackets quickly, before JSON.parse sees them", () => {
    const text = `${"[".repeat(4_000_000)}${"]".repeat(4_000_000)}`;
    const started = performance.now();
    expect(() => parseJsonWithDepthLimit(text)).toThrow(SyntaxError);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
