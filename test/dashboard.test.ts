import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatMilliseconds, formatThroughput } from "../dashboard/src/format.js";
import { buildDashboard, launchChromium, saveScreenshot } from "./support/browser.js";
import {
  type HerdProcess,
  sharedModelPath,
  startCluster,
  stopAllHerdProcesses,
  waitFor,
} from "./support/herd-process.js";

/** The dashboard as a person uses it, in Chromium, against three real nodes on loopback. */
describe("the dashboard of a 3-node cluster", () => {
  let a: HerdProcess;
  let c: HerdProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await buildDashboard();
    [a, , c] = (await startCluster(["alpha", "bravo", "charlie"])) as [HerdProcess, HerdProcess, HerdProcess];
    const imported = await a.cli(["models", "import", sharedModelPath]);
    expect(imported.code, imported.stderr).toBe(0);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  });
  afterAll(async () => {
    await browser?.close();
    await stopAllHerdProcesses();
  });

  it("shows the three nodes and every link with the figures of the cluster API", async () => {
    await page.goto(a.url);
    await page.getByTestId("node").nth(2).waitFor();
    const view = await a.client.cluster();
    for (const node of view.nodes) {
      const box = page.locator(`[data-testid=node][data-node-id="${node.id}"]`);
      expect(await box.getAttribute("data-state")).toBe("alive");
      expect(await box.textContent()).toContain(node.name);
      expect(await box.getAttribute("data-role")).toBe(
        node.id === view.coordinator ? "coordinator" : "member",
      );
    }
    expect(await page.getByTestId("link").count()).toBe(3);
    // Links are measured again every few seconds, so the page and the API are compared until both
    // show the same round of measurements.
    await waitFor("the page's link figures to equal the API's", async () => {
      const links = (await a.client.cluster()).links;
      const shown = await page.getByTestId("link-figure").evaluateAll((elements) =>
        elements.map((element) => ({
          from: element.getAttribute("data-from"),
          to: element.getAttribute("data-to"),
          rtt: element.querySelector("[data-testid=link-rtt]")?.textContent,
          throughput: element.querySelector("[data-testid=link-throughput]")?.textContent,
        })),
      );
      const expected = links.map((link) => ({
        from: link.from,
        to: link.to,
        rtt: formatMilliseconds(link.rttMs),
        throughput: formatThroughput(link.throughputBytesPerSecond),
      }));
      const key = (link: { from: string | null; to: string | null }) => `${link.from}>${link.to}`;
      const sort = <T extends { from: string | null; to: string | null }>(list: T[]) =>
        [...list].sort((x, y) => key(x).localeCompare(key(y)));
      return expected.length === 6 && JSON.stringify(sort(shown)) === JSON.stringify(sort(expected))
        ? true
        : undefined;
    });
    await saveScreenshot(page, "dashboard-cluster");
  });

  it("sets every link label apart, readable: no line of text on another, on a node or outside its label", async () => {
    await page.goto(a.url);
    await page.getByTestId("link-figure").nth(5).waitFor();
    // The drawing starts at a guessed width and is laid out again once the page's width is known.
    await page.waitForFunction(() => {
      const svg = document.querySelector("[data-testid=topology]");
      const width = svg?.parentElement?.getBoundingClientRect().width ?? 0;
      return svg !== null && Number(svg.getAttribute("width")) === Math.max(600, Math.floor(width));
    });
    const drawn = await page.getByTestId("topology").evaluate((svg) => {
      const box = (element: Element) => {
        const { x, y, width, height } = element.getBoundingClientRect();
        return { x, y, width, height };
      };
      return {
        drawing: box(svg),
        nodes: Array.from(svg.querySelectorAll("[data-testid=node]"), (node) => ({
          name: node.getAttribute("data-node-name") ?? "",
          box: box(node.querySelector(".node-box")!),
        })),
        labels: Array.from(svg.querySelectorAll("[data-testid=link-figure]"), (label) => ({
          box: box(label.querySelector(".link-label")!),
          lines: Array.from(label.querySelectorAll("text"), (line) => ({
            text: line.textContent ?? "",
            box: box(line),
            parts: Array.from(line.querySelectorAll("tspan"), (part) => ({
              text: part.textContent ?? "",
              box: box(part),
            })),
          })),
        })),
      };
    });
    type Rectangle = { x: number; y: number; width: number; height: number };
    const overlap = (one: Rectangle, other: Rectangle) =>
      Math.max(0, Math.min(one.x + one.width, other.x + other.width) - Math.max(one.x, other.x)) *
      Math.max(0, Math.min(one.y + one.height, other.y + other.height) - Math.max(one.y, other.y));
    const inside = (inner: Rectangle, outer: Rectangle) =>
      inner.x >= outer.x - 0.5 &&
      inner.y >= outer.y - 0.5 &&
      inner.x + inner.width <= outer.x + outer.width + 0.5 &&
      inner.y + inner.height <= outer.y + outer.height + 0.5;

    expect(drawn.labels).toHaveLength(6);
    const lines = drawn.labels.flatMap((label) => label.lines);
    expect(lines.map((line) => line.text)).toContain("alpha→charlie");
    expect(lines).toHaveLength(12);
    for (const [index, line] of lines.entries()) {
      expect(line.box.width * line.box.height, `"${line.text}" drawn`).toBeGreaterThan(0);
      for (const other of lines.slice(index + 1)) {
        expect(overlap(line.box, other.box), `"${line.text}" over "${other.text}"`).toBe(0);
      }
      // Parts of a line placed on their own (a name, then figures) must not run into each other.
      for (const [partIndex, part] of line.parts.entries()) {
        for (const other of line.parts.slice(partIndex + 1)) {
          expect(overlap(part.box, other.box), `"${part.text}" over "${other.text}"`).toBe(0);
        }
      }
    }
    for (const [index, label] of drawn.labels.entries()) {
      const name = label.lines[0]!.text;
      expect(inside(label.box, drawn.drawing), `${name} inside the drawing`).toBe(true);
      for (const line of label.lines) {
        expect(inside(line.box, label.box), `"${line.text}" inside its label`).toBe(true);
      }
      for (const node of drawn.nodes) {
        expect(overlap(label.box, node.box), `${name} over node ${node.name}`).toBe(0);
      }
      for (const other of drawn.labels.slice(index + 1)) {
        expect(overlap(label.box, other.box), `${name} over ${other.lines[0]!.text}`).toBe(0);
      }
    }
    await saveScreenshot(page, "dashboard-link-labels");
  });

  it("loads stories260K through the preview and shows where its layers went, as the API says", async () => {
    await page.goto(`${a.url}/#/load?model=stories260K`);
    await page.getByTestId("load-slots").fill("1");
    await page.getByTestId("split-layer").check({ force: true });
    await page.getByTestId("load-min-nodes").fill("3");
    const planRows = page.locator("[data-testid=plan-nodes] tbody tr");
    await waitFor("a 3-node plan in the preview", async () =>
      (await planRows.count()) === 3 ? true : undefined,
    );
    expect(await page.getByTestId("predicted-decode").textContent()).toMatch(/[\d.]+ tok\/s/);
    // How the head reaches each shard: three nodes on loopback share no cable, so the tunnel.
    expect(await page.getByTestId("shard-route").allTextContents()).toEqual(["head", "tunnel", "tunnel"]);
    await saveScreenshot(page, "dashboard-load-preview");

    await page.getByTestId("confirm-load").click();
    await page
      .getByTestId("load-states")
      .getByText(/^READY/)
      .waitFor({ timeout: 120_000 });
    await page.goto(`${a.url}/#/`);
    const card = page.locator("[data-testid=instance][data-state=READY]");
    await card.waitFor();
    const shown = await card.getByTestId("layer-segment").evaluateAll((elements) =>
      elements.map((element) => ({
        node: element.getAttribute("data-node-id"),
        layerStart: Number(element.getAttribute("data-layer-start")),
        layerEnd: Number(element.getAttribute("data-layer-end")),
      })),
    );
    const instance = (await a.client.instances()).find((candidate) => candidate.model === "stories260K");
    expect(instance?.state).toBe("READY");
    const planned = instance!.plan!.shards.map(({ node, layerStart, layerEnd }) => ({
      node,
      layerStart,
      layerEnd,
    }));
    expect(shown).toEqual(planned);
    expect(new Set(shown.map((segment) => segment.node)).size).toBe(3);
    await saveScreenshot(page, "dashboard-instance");
  });

  it("streams a chat reply equal to the API's greedy reply", async () => {
    const prompt = "Once upon a time";
    const response = await fetch(`${a.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "stories260K",
        messages: [{ role: "user", content: prompt }],
        temperature: 0,
        max_tokens: 24,
      }),
    });
    const expected = ((await response.json()) as { choices: Array<{ message: { content: string } }> })
      .choices[0]!.message.content;
    expect(expected.length).toBeGreaterThan(0);

    await page.goto(`${a.url}/#/chat?model=stories260K`);
    await page.getByTestId("chat-temperature").fill("0");
    await page.getByTestId("chat-max-tokens").fill("24");
    await page.getByTestId("chat-input").fill(prompt);
    await page.getByTestId("chat-send").click();
    const stats = page.getByTestId("reply-stats");
    await stats.waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("message-assistant").locator(".message-text").textContent()).toBe(expected);
    expect(await stats.textContent()).toMatch(/first token \d+ ms · \d+ tokens · [\d.]+ tok\/s/);
    await saveScreenshot(page, "dashboard-chat");
  });

  it("shows a node that was killed, within 15 s and without a reload", async () => {
    await page.goto(`${a.url}/#/`);
    await page.getByTestId("node").nth(2).waitFor();
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    const cId = (await c.client.cluster()).self;
    await c.kill();
    await page
      .locator(`[data-testid=node][data-node-id="${cId}"]:not([data-state=alive])`)
      .waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(
      true,
    );
    await saveScreenshot(page, "dashboard-node-lost");
  });
});
