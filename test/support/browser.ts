import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

const repositoryRoot = new URL("../..", import.meta.url).pathname;

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
