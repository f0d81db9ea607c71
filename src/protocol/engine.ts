import { z } from "zod";

export const Backend = z.enum(["cpu", "metal", "cuda", "vulkan", "hip"]);
export type Backend = z.infer<typeof Backend>;

/** A usable pair of engine binaries, built by herd or supplied by the user. */
export const EngineInstall = z.object({
  directory: z.string(),
  llamaServer: z.string(),
  rpcServer: z.string(),
  /** What `llama-server --version` reports, e.g. `0.5.0-dev (build 1, commit de3ff81)`. */
  version: z.string(),
  /** The llama.cpp commit, when known. */
  commit: z.string().optional(),
  backend: Backend,
  origin: z.enum(["built", "user"]),
  builtAt: z.string().optional(),
  cmakeFlags: z.array(z.string()).optional(),
});
export type EngineInstall = z.infer<typeof EngineInstall>;

/** A flag herd adds to the engine on this machine, and why. */
export const Workaround = z.object({ flag: z.string(), reason: z.string(), since: z.string() });
export type Workaround = z.infer<typeof Workaround>;

/** What `herd engine info` shows. */
export interface EngineReport {
  install: EngineInstall;
  workarounds: Workaround[];
  /** Compute devices as llama-server lists them (empty: CPU only). */
  devices: string[];
}

export type BuildStep = "source" | "configure" | "compile" | "install";

/** What an engine build reports as it goes. */
export type BuildProgress =
  | { type: "reused"; install: EngineInstall }
  | { type: "waiting"; message: string }
  | { type: "step-start"; step: BuildStep; message: string }
  | { type: "step-end"; step: BuildStep; elapsedMs: number }
  | { type: "compile-progress"; percent: number; line: string };
