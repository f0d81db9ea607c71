import { describe, expect, it } from "vitest";
import { TokenBucket } from "./token-bucket.js";

describe("TokenBucket", () => {
  it("lets a full minute's worth through at once, then refills at the rate", () => {
    const bucket = new TokenBucket(60, 0);
    for (let index = 0; index < 60; index++) expect(bucket.take(1, 0)).toBe(0);
    expect(bucket.take(1, 0)).toBeCloseTo(1);
    expect(bucket.take(1, 500)).toBeCloseTo(0.5);
    expect(bucket.take(1, 1000)).toBe(0);
    expect(bucket.take(1, 1000)).toBeCloseTo(1);
  });

  it("never holds more than its capacity", () => {
    const bucket = new TokenBucket(10, 0);
    expect(bucket.take(10, 3_600_000)).toBe(0);
    expect(bucket.take(1, 3_600_000)).toBeGreaterThan(0);
  });

  it("lets a request larger than the capacity through when the bucket is full", () => {
    const bucket = new TokenBucket(100, 0);
    expect(bucket.take(1000, 0)).toBe(0);
    expect(bucket.take(1, 0)).toBeCloseTo(0.6);
  });

  it("takes back what a refused request took", () => {
    const bucket = new TokenBucket(2, 0);
    expect(bucket.take(2, 0)).toBe(0);
    bucket.giveBack(1);
    expect(bucket.take(1, 0)).toBe(0);
  });
});
