import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDashboard, launchChromium, saveScreenshot } from "./support/browser.js";
import { HerdProcess, stopAllHerdProcesses } from "./support/herd-process.js";

/** A node that requires API keys shows nothing of the cluster in the browser until it accepts one. */
describe("the dashboard of a node that requires API keys", () => {
  let node: HerdProcess;
  let browser: Browser;
  let key: string;

  beforeAll(async () => {
    await buildDashboard();
    node = await HerdProcess.start({ args: ["--name", "guarded"] });
    const created = await node.cli(["keys", "create", "--scope", "admin", "--name", "dashboard"]);
    expect(created.code, created.stderr).toBe(0);
    key = created.stdout.trim();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stopAllHerdProcesses();
  });

  it("asks for a key, refuses a wrong one, and shows the cluster for a valid one", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(node.url);
    await page.getByTestId("key-prompt").waitFor();
    expect(await page.getByTestId("node").count()).toBe(0);
    expect(await page.textContent("body")).not.toContain("guarded");
    await saveScreenshot(page, "dashboard-key-prompt");

    await page.getByTestId("key-input").fill(`${key}x`);
    await page.getByTestId("key-input").press("Enter");
    await page.getByTestId("key-refused").waitFor();
    expect(await page.getByTestId("node").count()).toBe(0);

    await page.getByTestId("key-input").fill(key);
    await page.getByTestId("key-input").press("Enter");
    await page.getByTestId("node").first().waitFor();
    expect(await page.getByTestId("node").first().textContent()).toContain("guarded");
    expect(await page.getByTestId("key-prompt").count()).toBe(0);
    // The event stream carries the key too: the page follows the node live.
    await page.locator("[data-testid=live].live-on").waitFor({ timeout: 10_000 });
    await saveScreenshot(page, "dashboard-key-accepted");
    await page.close();
  });
});
