import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// `vite dashboard` serves the dashboard with live reload against a running node (HERD_URL).
const node = process.env.HERD_URL ?? "http://127.0.0.1:52415";

export default defineConfig({
  base: "/",
  plugins: [preact({ prefreshEnabled: false, devToolsEnabled: false })],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", reportCompressedSize: false },
  server: {
    proxy: { "/herd": node, "/v1": node },
    fs: { allow: [".."] },
  },
});
