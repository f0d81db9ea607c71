import { describe, expect, it } from "vitest";
import { upstreamUrl } from "./forward-to-upstream.js";

describe("upstreamUrl", () => {
  it.each([
    ["https://api.example.com/v1", "https://api.example.com/v1/chat/completions"],
    ["https://api.example.com/v1/", "https://api.example.com/v1/chat/completions"],
    ["http://127.0.0.1:52415", "http://127.0.0.1:52415/v1/chat/completions"],
    ["https://gateway.example.com/openai", "https://gateway.example.com/openai/v1/chat/completions"],
  ])("joins %s with the path once", (base, expected) => {
    expect(upstreamUrl(base, "/v1/chat/completions").href).toBe(expected);
  });
});
