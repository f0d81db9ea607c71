import { describe, expect, it } from "vitest";
import { pullStatusLines } from "./pull-status.js";

describe("pullStatusLines", () => {
  it("says each phase once, in Ollama's words, with throttled download progress", () => {
    const lines = pullStatusLines();
    const digest = "sha256:0123456789abcdef";
    const all = [
      ...lines.next({ phase: "resolving", completed: 0, total: 0 }, 0),
      ...lines.next({ phase: "downloading", digest, completed: 10, total: 100 }, 10),
      ...lines.next({ phase: "downloading", digest, completed: 20, total: 100 }, 20),
      ...lines.next({ phase: "downloading", digest, completed: 60, total: 100 }, 200),
      ...lines.next({ phase: "downloading", digest, completed: 100, total: 100 }, 210),
      ...lines.next({ phase: "verifying", completed: 100, total: 100 }, 300),
      ...lines.next({ phase: "registering", completed: 100, total: 100 }, 400),
      ...lines.next({ phase: "done", completed: 100, total: 100 }, 500),
      ...lines.next({ phase: "done", completed: 100, total: 100 }, 600),
    ];
    expect(all).toEqual([
      { status: "pulling manifest" },
      { status: "pulling 0123456789ab", digest, total: 100, completed: 10 },
      { status: "pulling 0123456789ab", digest, total: 100, completed: 60 },
      { status: "pulling 0123456789ab", digest, total: 100, completed: 100 },
      { status: "verifying sha256 digest" },
      { status: "writing manifest" },
      { status: "success" },
    ]);
  });

  it("announces phases a pull skipped", () => {
    expect(pullStatusLines().next({ phase: "done", completed: 0, total: 0 }, 0)).toEqual([
      { status: "pulling manifest" },
      { status: "verifying sha256 digest" },
      { status: "writing manifest" },
      { status: "success" },
    ]);
  });
});
