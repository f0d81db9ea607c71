import { Ollama } from "ollama";
import { afterEach, describe, expect, it } from "vitest";
import { parseNdjsonStrictly } from "../../../test/support/strict-streams.js";
import type { PullModelRequest, PullProgress } from "../../protocol/management.js";
import type { ModelProfile } from "../../protocol/model-profile.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { createTestApp, type TestApp } from "../test-app.js";

const digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/** A pull that reports progress as a real one does and records what it was asked. */
function pullReporting(
  asked: PullModelRequest[],
  failAfterBytes?: number,
): NonNullable<ApiDependencies["pull"]> {
  return async (request, onProgress) => {
    asked.push(request);
    const total = 3 * 1024;
    const report = (progress: PullProgress) => onProgress(progress);
    report({ phase: "resolving", completed: 0, total: 0 });
    for (let completed = 1024; completed <= total; completed += 1024) {
      if (failAfterBytes !== undefined && completed > failAfterBytes) {
        throw new Error("the hub closed the connection");
      }
      report({ phase: "downloading", file: "model.Q4_K_M.gguf", digest, completed, total });
      await new Promise((resolve) => setTimeout(resolve, 110));
    }
    report({ phase: "verifying", file: "model.Q4_K_M.gguf", digest, completed: total, total });
    report({ phase: "registering", completed: total, total });
    report({ phase: "done", completed: total, total });
    return { name: "pulled" } as ModelProfile;
  };
}

let testApp: TestApp | undefined;
afterEach(async () => {
  await testApp?.dispose();
  testApp = undefined;
});

/** The node's app in-process, with `pull` as the node's pull function. */
async function appWith(pull: ApiDependencies["pull"]) {
  testApp = await createTestApp({ pull });
  return testApp.app;
}

describe("POST /api/pull", () => {
  it("streams Ollama's progress lines to the official client, for an hf.co name", async () => {
    const asked: PullModelRequest[] = [];
    const app = await appWith(pullReporting(asked));
    const ollama = new Ollama({
      host: "http://herd.test",
      fetch: (async (input: string, init?: RequestInit) => app.request(input, init)) as typeof fetch,
    });
    const statuses = [];
    for await (const part of await ollama.pull({ model: "hf.co/owner/repo:Q4_K_M", stream: true }))
      statuses.push(part);
    expect(asked).toEqual([{ ref: "owner/repo:Q4_K_M" }]);
    expect(statuses.map((part) => part.status)).toEqual([
      "pulling manifest",
      "pulling 9f86d081884c",
      "pulling 9f86d081884c",
      "pulling 9f86d081884c",
      "verifying sha256 digest",
      "writing manifest",
      "success",
    ]);
    expect(statuses[3]).toMatchObject({ digest, total: 3072, completed: 3072 });
  });

  it("answers once with success when not streamed", async () => {
    const response = await (await appWith(pullReporting([]))).request("/api/pull", {
      method: "POST",
      body: JSON.stringify({ name: "owner/repo", stream: false }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "success" });
  });

  it("ends the stream with an error line when the pull fails midway", async () => {
    const response = await (await appWith(pullReporting([], 1024))).request("/api/pull", {
      method: "POST",
      body: JSON.stringify({ model: "owner/repo" }),
    });
    const lines = parseNdjsonStrictly(await response.text());
    expect(lines.at(-1)).toEqual({ error: "internal error; see the node's log" });
    expect(lines.map((line) => line.status).slice(0, 2)).toEqual([
      "pulling manifest",
      "pulling 9f86d081884c",
    ]);
  });

  it("says clearly, in Ollama's shape, that a node without pulling cannot pull", async () => {
    const response = await (await appWith(undefined)).request("/api/pull", {
      method: "POST",
      body: JSON.stringify({ model: "owner/repo" }),
    });
    expect(response.status).toBe(501);
    expect(await response.json()).toEqual({
      error: "this node cannot pull models; copy the GGUF file here and run 'herd models import <file>'",
    });
  });

  it("rejects a body without a model in Ollama's shape", async () => {
    const response = await (await appWith(pullReporting([]))).request("/api/pull", {
      method: "POST",
      body: "{}",
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain("model");
  });
});
