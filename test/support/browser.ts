import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { runCommand } from "../../src/engine/run-command.js";

const repositoryRoot = new URL("../..", import.meta.url).pathname;

/**
 * Builds the dashboard the nodes serve, so that the test sees the current code (as `herd start`
 * runs from the TypeScript source) rather than whatever `npm run build` left in dashboard/dist.
 */
export async function buildDashboard(): Promise<void> {
  const vite = join(repositoryRoot, "node_modules/vite/bin/vite.js");
  const result = await runCommand(process.execPath, [vite, "build", "dashboard", "--logLevel", "warn"], {
    cwd: repositoryRoot,
    timeoutMs: 120_000,
  });
  if (result.code !== 0) throw new Error(`the dashboard did not build:\n${result.stdout}${result.stderr}`);
}

/** Debian's Chromium (installed by `.ci/run`), headless and quiet: no updates, no first-run pages. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.HERD_TEST_CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/** Saves a screenshot of the whole page as `test-results/<name>.png` (kept as a CI artifact). */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  const folder = join(repositoryRoot, "test-results");
  await mkdir(folder, { recursive: true });
  await page.screenshot({ path: join(folder, `${name}.png`), fullPage: true });
}
