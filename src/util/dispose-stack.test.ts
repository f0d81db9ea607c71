import { describe, expect, it } from "vitest";
import { DisposeStack } from "./dispose-stack.js";

describe("DisposeStack", () => {
  it("stops parts in the reverse of the order they started", async () => {
    const stopped: string[] = [];
    const stack = new DisposeStack(() => {});
    for (const name of ["cluster", "instances", "server"]) stack.defer(name, () => stopped.push(name));
    await stack.dispose();
    expect(stopped).toEqual(["server", "instances", "cluster"]);
  });

  it("stops the parts before one that fails to stop, and says which failed", async () => {
    const stopped: string[] = [];
    const failed: string[] = [];
    const stack = new DisposeStack((name) => failed.push(name));
    stack.defer("cluster", () => stopped.push("cluster"));
    stack.defer("server", () => {
      throw new Error("port stuck");
    });
    await stack.dispose();
    expect({ stopped, failed }).toEqual({ stopped: ["cluster"], failed: ["server"] });
  });

  it("stops each part once when asked twice at the same time", async () => {
    let count = 0;
    const stack = new DisposeStack(() => {});
    stack.use("part", { dispose: async () => void count++ });
    await Promise.all([stack.dispose(), stack.dispose()]);
    expect(count).toBe(1);
  });

  it("refuses a part that starts while the stack is stopping", async () => {
    const stack = new DisposeStack(() => {});
    void stack.dispose();
    expect(() => stack.defer("late", () => {})).toThrow(/started while its owner was stopping/);
  });
});
