import { describe, expect, it } from "vitest";
import { renderLogLine } from "./render-log-line.js";

const at = new Date(2025, 0, 2, 3, 4, 5, 6).getTime();

describe("renderLogLine", () => {
  it.each([
    [
      { level: 30, time: at, pid: 1, name: "herd", msg: "engine ready", instance: "m-1", loadMs: 812 },
      "2025-01-02 03:04:05.006 INFO  engine ready  instance=m-1 loadMs=812",
    ],
    [
      { level: 30, time: at, msg: "request served", status: 200, path: "/v1/completions", requestId: "r-9" },
      "2025-01-02 03:04:05.006 INFO  request served  requestId=r-9 status=200 path=/v1/completions",
    ],
    [
      {
        level: 50,
        time: at,
        msg: "request failed",
        err: { type: "Error", message: "boom", stack: "Error: boom\n at x" },
      },
      '2025-01-02 03:04:05.006 ERROR request failed  err="boom"',
    ],
    [
      {
        level: 40,
        time: at,
        msg: "engine exited: killed",
        reason: "a b",
        exit: { code: null, signal: "SIGKILL" },
      },
      '2025-01-02 03:04:05.006 WARN  engine exited: killed  reason="a b" exit={"code":null,"signal":"SIGKILL"}',
    ],
  ])("shows %j as one readable line", (record, expected) => {
    expect(renderLogLine(JSON.stringify(record))).toBe(expected);
  });

  it("passes lines that are not JSON objects through unchanged", () => {
    expect(renderLogLine("herd is serving on http://127.0.0.1:52415")).toBe(
      "herd is serving on http://127.0.0.1:52415",
    );
    expect(renderLogLine("[1,2]")).toBe("[1,2]");
  });
});
