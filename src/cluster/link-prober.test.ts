import { describe, expect, it } from "vitest";
import { transferRate } from "./link-prober.js";

describe("transferRate", () => {
  it("counts from the first bytes to the last, leaving out the handshakes and the request's round trip", () => {
    // Asked at 0; the first 16 KiB at 8 ms (handshakes); the rest of 2 MiB by 10 ms.
    const timing = { started: 0, firstAt: 8, firstBytes: 16_384, endedAt: 10, bytes: 2_097_152 };
    expect(transferRate(timing)).toBeCloseTo((2_097_152 - 16_384) / 0.002, -3);
  });

  it("counts from the request when everything came in one piece", () => {
    const timing = { started: 0, firstAt: 4, firstBytes: 65_536, endedAt: 4, bytes: 65_536 };
    expect(transferRate(timing)).toBeCloseTo(65_536 / 0.004, -3);
  });
});
