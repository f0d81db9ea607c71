import { Command } from "commander";
import { HerdApiError, HerdClient, HerdUnreachableError } from "../client/herd-client.js";
import { HerdError } from "../protocol/errors.js";
import { addAliasCommands } from "./commands/alias.js";
import { addClusterCommands } from "./commands/cluster.js";
import { addEngineCommands } from "./commands/engine.js";
import { addHealthCommand } from "./commands/health.js";
import { addInstanceCommands } from "./commands/instances.js";
import { addKeyCommands } from "./commands/keys.js";
import { addModelCommands } from "./commands/models.js";
import { addRunCommand } from "./commands/run.js";
import { addServiceCommands } from "./commands/service.js";
import { addStartCommand } from "./commands/start.js";
import { addStopCommand } from "./commands/stop.js";
import { addThroughputCommands } from "./throughput-commands.js";

const program = new Command("herd")
  .description("Pool your machines into one LLM server (OpenAI API) on llama.cpp")
  .option("--url <url>", "the node to talk to", process.env.HERD_URL ?? "http://127.0.0.1:52415")
  .option("--api-key <key>", "API key to send (HERD_API_KEY)")
  .showHelpAfterError();

/** The client of the node `--url` names, made when a command runs (after the flags are parsed). */
const client = () => {
  const options = program.opts<{ url: string; apiKey?: string }>();
  return new HerdClient({ baseUrl: options.url, apiKey: options.apiKey ?? process.env.HERD_API_KEY });
};

// The order of the commands is the order of `herd --help`.
addStartCommand(program);
addEngineCommands(program);
addModelCommands(program, client);
addInstanceCommands(program, client);
addClusterCommands(program, client);
addKeyCommands(program, client);
addThroughputCommands(program, client);
addHealthCommand(program, client);
addServiceCommands(program);
addRunCommand(program, client);
addStopCommand(program, client);
addAliasCommands(program, client);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // herd's own errors are for people: their message says it all. Anything else is a bug: its stack helps.
  if (error instanceof HerdApiError || error instanceof HerdUnreachableError || error instanceof HerdError) {
    process.stderr.write(`herd: ${error.message}\n`);
  } else {
    process.stderr.write(
      `herd: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exitCode = 1;
}
