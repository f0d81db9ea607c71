import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, parseBytes } from "./format.js";

describe("formatBytes", () => {
  it.each([
    { bytes: 0, text: "0 B" },
    { bytes: 1, text: "1 B" },
    { bytes: 1023, text: "1023 B" },
    { bytes: 1024, text: "1.0 KiB" },
    { bytes: 1536, text: "1.5 KiB" },
    { bytes: 99 * 1024, text: "99.0 KiB" },
    { bytes: 100 * 1024, text: "100 KiB" },
    { bytes: 1185376, text: "1.1 MiB" },
    { bytes: 512 * 1024 ** 2, text: "512 MiB" },
    { bytes: 8 * 1024 ** 3, text: "8.0 GiB" },
    { bytes: 1.5 * 1024 ** 4, text: "1.5 TiB" },
    { bytes: 1024 ** 5, text: "1024 TiB" },
    { bytes: -2048, text: "-2.0 KiB" },
  ])("formats $bytes as $text", ({ bytes, text }) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  // The unit is chosen after rounding: 1048575 B is "1.0 MiB", never "1024 KiB".
  it.each([
    { bytes: 1024 ** 2 - 1, text: "1.0 MiB" },
    { bytes: 1024 ** 3 - 1, text: "1.0 GiB" },
    { bytes: 102_359, text: "100 KiB" },
  ])("formats $bytes as $text after rounding", ({ bytes, text }) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe("parseBytes", () => {
  it.each([
    { text: "1048576", bytes: 1048576 },
    { text: "0", bytes: 0 },
    { text: "512M", bytes: 512 * 1024 ** 2 },
    { text: "512m", bytes: 512 * 1024 ** 2 },
    { text: "8GiB", bytes: 8 * 1024 ** 3 },
    { text: "8 GB", bytes: 8 * 1024 ** 3 },
    { text: "1.5g", bytes: 1.5 * 1024 ** 3 },
    { text: "64k", bytes: 64 * 1024 },
    { text: "2T", bytes: 2 * 1024 ** 4 },
    { text: "100b", bytes: 100 },
    { text: "  4 MiB  ", bytes: 4 * 1024 ** 2 },
    { text: "1.5", bytes: 2 },
  ])("parses $text as $bytes bytes", ({ text, bytes }) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it.each(["", "   ", "abc", "-1", "1e9", "12 parsecs", "5P", "1.2.3G", ".5G", "G"])(
    "gives undefined for %j",
    (text) => {
      expect(parseBytes(text)).toBeUndefined();
    },
  );

  it.each([0, 1, 1536, 512 * 1024 ** 2, 8 * 1024 ** 3])(
    "reads back what formatBytes wrote for %i",
    (bytes) => {
      const parsed = parseBytes(formatBytes(bytes));
      expect(parsed).toBeDefined();
      // formatBytes keeps one decimal, so the round trip is within 5% of the value.
      expect(Math.abs(parsed! - bytes)).toBeLessThanOrEqual(bytes * 0.05);
    },
  );
});

describe("formatDuration", () => {
  it.each([
    { milliseconds: 0, text: "0.0s" },
    { milliseconds: 40, text: "0.0s" },
    { milliseconds: 1500, text: "1.5s" },
    { milliseconds: 59_400, text: "59.4s" },
    { milliseconds: 59_499, text: "59.5s" },
    // Rounds to 60 s, so it moves to minutes rather than printing "60.0s".
    { milliseconds: 59_500, text: "1m 00s" },
    { milliseconds: 60_000, text: "1m 00s" },
    { milliseconds: 83_456, text: "1m 23s" },
    { milliseconds: 605_000, text: "10m 05s" },
    { milliseconds: 3_600_000, text: "60m 00s" },
  ])("formats $milliseconds ms as $text", ({ milliseconds, text }) => {
    expect(formatDuration(milliseconds)).toBe(text);
  });
});
