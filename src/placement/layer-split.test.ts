import { describe, expect, it } from "vitest";
import { splitFractions, splitLayers } from "./layer-split.js";

describe("splitLayers", () => {
  const cases: Array<{
    name: string;
    total: number;
    devices: Array<{ max: number; group: number }>;
    expected: number[] | undefined;
  }> = [
    { name: "one device takes all", total: 32, devices: [{ max: 40, group: 0 }], expected: [32] },
    {
      name: "equal devices share evenly",
      total: 94,
      devices: [
        { max: 94, group: 0 },
        { max: 94, group: 0 },
      ],
      expected: [47, 47],
    },
    {
      name: "odd totals go to earlier devices",
      total: 5,
      devices: [
        { max: 5, group: 0 },
        { max: 5, group: 0 },
        { max: 5, group: 0 },
      ],
      expected: [2, 2, 1],
    },
    {
      name: "equal speeds share by memory",
      total: 30,
      devices: [
        { max: 31, group: 0 },
        { max: 11, group: 0 },
      ],
      expected: [22, 8],
    },
    {
      name: "the faster group fills first",
      total: 80,
      devices: [
        { max: 80, group: 1 },
        { max: 46, group: 0 },
      ],
      expected: [34, 46],
    },
    {
      name: "every device keeps one block",
      total: 10,
      devices: [
        { max: 10, group: 1 },
        { max: 10, group: 0 },
      ],
      expected: [1, 9],
    },
    {
      name: "a device with no room",
      total: 10,
      devices: [
        { max: 10, group: 0 },
        { max: 0, group: 0 },
      ],
      expected: undefined,
    },
    {
      name: "not enough room together",
      total: 10,
      devices: [
        { max: 4, group: 0 },
        { max: 5, group: 0 },
      ],
      expected: undefined,
    },
    {
      name: "more devices than blocks",
      total: 2,
      devices: [
        { max: 2, group: 0 },
        { max: 2, group: 0 },
        { max: 2, group: 0 },
      ],
      expected: undefined,
    },
    {
      name: "exactly full",
      total: 9,
      devices: [
        { max: 4, group: 0 },
        { max: 5, group: 1 },
      ],
      expected: [4, 5],
    },
  ];
  it.each(cases)("$name", ({ total, devices, expected }) => {
    const result = splitLayers(total, devices);
    expect(result).toEqual(expected);
    if (result) {
      expect(result.reduce((sum, count) => sum + count, 0)).toBe(total);
      result.forEach((count, index) => {
        expect(count).toBeLessThanOrEqual(devices[index]!.max);
      });
    }
  });
});

describe("splitFractions", () => {
  const cases: Array<{
    name: string;
    devices: Array<{ weight: number; max: number }>;
    expected: number[] | undefined;
  }> = [
    {
      name: "by weight",
      devices: [
        { weight: 3, max: 1 },
        { weight: 1, max: 1 },
      ],
      expected: [0.75, 0.25],
    },
    {
      name: "a capped device gives the rest away",
      devices: [
        { weight: 3, max: 0.5 },
        { weight: 1, max: 1 },
      ],
      expected: [0.5, 0.5],
    },
    {
      name: "caps cascade",
      devices: [
        { weight: 8, max: 0.4 },
        { weight: 1, max: 0.4 },
        { weight: 1, max: 1 },
      ],
      expected: [0.4, 0.3, 0.3],
    },
    {
      name: "too little room",
      devices: [
        { weight: 1, max: 0.4 },
        { weight: 1, max: 0.5 },
      ],
      expected: undefined,
    },
  ];
  it.each(cases)("$name", ({ devices, expected }) => {
    const result = splitFractions(devices);
    if (expected === undefined) expect(result).toBeUndefined();
    else
      expected.forEach((value, index) => {
        expect(result![index]).toBeCloseTo(value, 12);
      });
  });
});
