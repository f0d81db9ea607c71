/**
 * Once an exception escapes every handler the node's state cannot be trusted to shut down in
 * order: report it, kill the engines at once (so none outlives the node), and exit 1.
 */
export function exitOnCrash(killEnginesNow: () => void): void {
  process.on("uncaughtException", (error) => {
    process.stderr.write(`herd crashed: ${error.stack ?? error.message}\n`);
    killEnginesNow();
    process.exit(1);
  });
}
