import { describe, expect, it } from "vitest";
import { type Candidate, chooseInstance } from "./choose-instance.js";

const instance = (instanceId: string, load: number, parallel = 4, local = true): Candidate => ({
  instanceId,
  load,
  parallel,
  local,
});

describe("chooseInstance", () => {
  it.each([
    { name: "the most free slots", candidates: [instance("a", 3), instance("b", 1)], expected: "b" },
    {
      name: "free slots over fewer requests (a larger instance)",
      candidates: [instance("a", 2, 2), instance("b", 3, 8)],
      expected: "b",
    },
    {
      name: "the fewest queued when all are full",
      candidates: [instance("a", 9), instance("b", 6)],
      expected: "b",
    },
    {
      name: "one headed here when otherwise equal",
      candidates: [instance("a", 1, 4, false), instance("b", 1, 4, true)],
      expected: "b",
    },
    { name: "the lowest id on a full tie", candidates: [instance("b", 0), instance("a", 0)], expected: "a" },
  ])("prefers $name", ({ candidates, expected }) => {
    expect(chooseInstance(candidates).instanceId).toBe(expected);
  });

  it("keeps a conversation on its instance while that has a free slot", () => {
    expect(chooseInstance([instance("a", 0), instance("b", 3)], "b").instanceId).toBe("b");
  });

  it("moves a conversation whose instance is full", () => {
    expect(chooseInstance([instance("a", 0), instance("b", 4)], "b").instanceId).toBe("a");
  });
});
