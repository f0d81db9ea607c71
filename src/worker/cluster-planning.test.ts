import { describe, expect, it } from "vitest";
import type { NodeId } from "../protocol/ids.js";
import { preferredHead } from "./cluster-planning.js";

const a = "a" as NodeId;
const b = "b" as NodeId;
const c = "c" as NodeId;

describe("preferredHead", () => {
  it.each<{
    situation: string;
    holders: NodeId[];
    avoid: NodeId[];
    current?: NodeId;
    head: NodeId | undefined;
  }>([
    { situation: "a first load, with no replica elsewhere", holders: [a, b], avoid: [], head: a },
    { situation: "a second replica, the first on a", holders: [a, b], avoid: [a], head: b },
    {
      situation: "a recovery whose head still holds the files",
      holders: [a, b],
      avoid: [],
      current: b,
      head: b,
    },
    { situation: "a recovery whose head is gone", holders: [a, c], avoid: [], current: b, head: a },
    { situation: "every holder already runs a replica", holders: [a, b], avoid: [a, b], head: a },
    { situation: "no live node holds the files", holders: [], avoid: [], current: b, head: undefined },
  ])("$situation", ({ holders, avoid, current, head }) => {
    expect(preferredHead(holders, avoid, current)).toBe(head);
  });
});
