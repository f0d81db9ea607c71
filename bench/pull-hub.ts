/** Serves one file as `bench/big-GGUF` from the test hub, in its own process; prints the endpoint. */
import { TestHub } from "../test/support/test-hub.js";

const [path, sha256] = process.argv.slice(2);
const hub = await new TestHub().start();
await hub.addRepository("bench/big-GGUF", [{ path: "big-F16.gguf", diskPath: path!, sha256: sha256! }]);
process.stdout.write(`${JSON.stringify({ endpoint: hub.endpoint })}\n`);
process.on("SIGTERM", () => void hub.close().then(() => process.exit(0)));
