import { existsSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { HerdApiError, HerdClient, HerdUnreachableError } from "../client/herd-client.js";
import type { CreatedApiKey } from "../protocol/api-keys.js";
import { HerdError } from "../protocol/errors.js";
import type { LoadModelRequest } from "../protocol/management.js";
import { formatBytes, formatCount, formatDuration } from "../util/format.js";
import { addAliasCommands } from "./commands/alias.js";
import { addHealthCommand } from "./commands/health.js";
import { addModelsVerifyCommand } from "./commands/models-verify.js";
import { addRunCommand } from "./commands/run.js";
import { addServiceCommands } from "./commands/service.js";
import { addStopCommand } from "./commands/stop.js";
import { loadAndFollow } from "./load-and-follow.js";
import { createProgressDisplay } from "./progress.js";
import { renderBuildProgress } from "./render-build-progress.js";
import { renderInstances, renderNodes, renderPlan, renderStatus } from "./render-cluster.js";
import { renderLogLine } from "./render-log-line.js";
import { formatTable } from "./table.js";
import { addThroughputCommands } from "./throughput-commands.js";

const program = new Command("herd")
  .description("Pool your machines into one LLM server (OpenAI API) on llama.cpp")
  .option("--url <url>", "the node to talk to", process.env.HERD_URL ?? "http://127.0.0.1:52415")
  .option("--api-key <key>", "API key to send (HERD_API_KEY)")
  .showHelpAfterError();

const client = () => {
  const options = program.opts<{ url: string; apiKey?: string }>();
  return new HerdClient({ baseUrl: options.url, apiKey: options.apiKey ?? process.env.HERD_API_KEY });
};
const integer = (name: string) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError(`${name} must be a positive whole number`);
  return parsed;
};
const backendOption = new Option("--backend <backend>", "engine backend").choices([
  "auto",
  "cpu",
  "metal",
  "cuda",
  "vulkan",
  "hip",
]);
/** Local commands load the node's code only when they run, so client commands start fast. */
const node = () => import("../main.js");

program
  .command("start")
  .description("run a herd node in the foreground (Ctrl-C stops it and every engine it started)")
  .option("--host <host>", "address for the API", "127.0.0.1")
  .option("--port <port>", "API port", integer("port"), 52415)
  .option("--cluster-port <port>", "cluster channel port", integer("cluster-port"), 52416)
  .option("--cluster-host <host>", "address for the cluster channel (default: --host)")
  .option("--join <token>", "join the cluster this token belongs to (from 'herd join-token')")
  .option("--peers <list>", "cluster channels to dial, host:port,... (where multicast does not reach)")
  .option("--memory-limit <size>", "advertise at most this much memory, e.g. 8G")
  .option("--name <name>", "this node's name in the cluster (default: host name)")
  .option("--no-discovery", "do not look for peers by LAN multicast")
  .option("--home <dir>", "state folder (HERD_HOME, default ~/.herd)")
  .option("--engine-dir <dir>", "use llama.cpp binaries from this folder (HERD_ENGINE_DIR)")
  .option(
    "--ollama-port <port>",
    "also serve the API on this port, as Ollama does on 11434",
    integer("ollama-port"),
  )
  .option(
    "--autoload",
    "load a known model that is not loaded when a request asks for it (default: answer 503)",
  )
  .option("--insecure-no-auth", "serve a non-loopback API without API keys (labs only)")
  .option("--cors-origin <list>", "let browsers on these origins call the API (comma-separated)")
  .option("--max-body <size>", "largest request body accepted, e.g. 8M (default 8M)")
  .option("--max-queue <n>", "requests queued per instance before 503", integer("max-queue"))
  .option("--no-warmup", "mark engines READY without first running one short generation on each")
  .option("--env-file <path>", "read NAME=value variables (secrets) from this file, when it exists")
  .addOption(backendOption)
  .action(
    async (options: {
      envFile?: string;
      warmup: boolean;
      ollamaPort?: number;
      autoload?: boolean;
      host: string;
      port: number;
      clusterPort: number;
      clusterHost?: string;
      join?: string;
      peers?: string;
      memoryLimit?: string;
      name?: string;
      discovery: boolean;
      home?: string;
      engineDir?: string;
      backend?: string;
      insecureNoAuth?: boolean;
      corsOrigin?: string;
      maxBody?: string;
      maxQueue?: number;
    }) => {
      // Variables already set win over the file's, as with systemd's EnvironmentFile.
      if (options.envFile && existsSync(options.envFile)) process.loadEnvFile(options.envFile);
      const { startNode } = await node();
      let requestStop = () => {};
      const started = await startNode(
        {
          host: options.host,
          port: options.port,
          clusterPort: options.clusterPort,
          clusterHost: options.clusterHost,
          joinToken: options.join,
          peers: options.peers?.split(","),
          memoryLimit: options.memoryLimit,
          name: options.name,
          discovery: options.discovery,
          home: options.home,
          engineDirectory: options.engineDir,
          backend: options.backend,
          ollamaPort: options.ollamaPort,
          autoload: options.autoload,
          insecureNoAuth: options.insecureNoAuth,
          corsOrigins: options.corsOrigin?.split(","),
          maxBody: options.maxBody,
          maxQueue: options.maxQueue,
          warmup: options.warmup,
        },
        { onBuildProgress: renderBuildProgress(), onStopRequested: () => requestStop() },
      );
      process.stderr.write(
        `herd is serving on ${started.url}  (OpenAI API at ${started.url}/v1, Anthropic at ${started.url}, Ollama at ${started.url}/api)\n`,
      );
      if (started.config.ollamaPort !== undefined) {
        process.stderr.write(`Ollama clients also reach it on port ${started.config.ollamaPort}\n`);
      }
      // The token is a secret: shown on a terminal, but kept out of a log that stderr may be.
      if (!options.join && process.stderr.isTTY)
        process.stderr.write(`join this cluster with  herd start --join ${started.joinToken}\n`);
      else if (!options.join)
        process.stderr.write("to add machines, get the join token with 'herd join-token' (it is a secret)\n");
      process.on("exit", () => started.killEnginesNow());
      const stop = (signal: string) => {
        process.stderr.write(`\n${signal}: stopping herd and its engines...\n`);
        const force = setTimeout(() => process.exit(1), 15_000);
        force.unref();
        void started.dispose().then(() => process.exit(0));
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
      requestStop = () => stop("herd stop");
      process.on("uncaughtException", (error) => {
        process.stderr.write(`herd crashed: ${error.stack ?? error.message}\n`);
        started.killEnginesNow();
        process.exit(1);
      });
    },
  );

const engine = program.command("engine").description("the llama.cpp engine: build it, inspect it");

engine
  .command("build")
  .description(
    "build llama-server and ggml-rpc-server from the pinned llama.cpp source (reused when already built)",
  )
  .addOption(backendOption)
  .option("--force", "build again even if a build exists")
  .option("--jobs <n>", "parallel compile jobs", integer("jobs"))
  .option("--home <dir>", "state folder (HERD_HOME)")
  .action(async (options: { backend?: string; force?: boolean; jobs?: number; home?: string }) => {
    const { buildEngineForMachine } = await node();
    const started = Date.now();
    const install = await buildEngineForMachine(
      { home: options.home, backend: options.backend },
      {
        force: options.force,
        jobs: options.jobs,
        onProgress: renderBuildProgress(),
        onBackend: (backend, reason) => process.stderr.write(`engine: backend ${backend} (${reason})\n`),
      },
    );
    process.stdout.write(`${install.directory}\n`);
    process.stderr.write(`engine: ready (${install.version}) in ${formatDuration(Date.now() - started)}\n`);
  });

engine
  .command("info")
  .description("show the engine this machine uses, its devices and any workaround herd applies")
  .option("--json", "print JSON")
  .option("--home <dir>", "state folder (HERD_HOME)")
  .option("--engine-dir <dir>", "inspect llama.cpp binaries in this folder")
  .addOption(backendOption)
  .action(async (options: { json?: boolean; home?: string; engineDir?: string; backend?: string }) => {
    const { localEngineReport } = await node();
    const report = await localEngineReport({
      home: options.home,
      engineDirectory: options.engineDir,
      backend: options.backend,
    });
    if (options.json) return print(JSON.stringify(report, null, 2));
    const lines = [
      `llama-server     ${report.install.llamaServer}`,
      `ggml-rpc-server  ${report.install.rpcServer}`,
      `version          ${report.install.version}`,
      `backend          ${report.install.backend} (${report.install.origin === "built" ? "built by herd" : "your binaries"})`,
      `devices          ${report.devices.length > 0 ? report.devices.join("; ") : "CPU only"}`,
      `workarounds      ${report.workarounds.length > 0 ? "" : "none"}`,
      ...report.workarounds.map(
        (workaround) => `  ${workaround.flag}: ${workaround.reason} (since ${workaround.since})`,
      ),
    ];
    print(lines.join("\n"));
  });

const models = program.command("models").description("the models on the node");

models
  .command("import <path>")
  .description("register a GGUF file (linked, not copied, where the filesystem allows)")
  .option("--name <name>", "the name clients will use (default: from the file name)")
  .option("--copy", "copy the file into herd's store")
  .action(async (path: string, options: { name?: string; copy?: boolean }) => {
    const { resolve } = await import("node:path");
    const profile = await client().importModel({
      path: resolve(path),
      name: options.name,
      copy: options.copy,
    });
    print(
      `imported ${profile.name}: ${profile.architecture}, ${formatCount(profile.parameterCount)} parameters, ${profile.fileType}, ${formatBytes(profile.sizeBytes)}, ${profile.layerCount} layers (${profile.storage})`,
    );
  });

models
  .command("list")
  .alias("ls")
  .description("list the models")
  .option("--json", "print JSON")
  .action(async (options: { json?: boolean }) => {
    const list = await client().models();
    if (options.json) return print(JSON.stringify(list, null, 2));
    print(
      formatTable(
        ["NAME", "ARCH", "QUANT", "PARAMS", "SIZE", "LAYERS", "SHA256", "FILE", "INSTANCES"],
        list.map((model) => [
          model.name,
          model.architecture,
          model.fileType,
          formatCount(model.parameterCount),
          formatBytes(model.sizeBytes),
          String(model.layerCount),
          model.verification?.state ?? (model.files ? "recorded" : "-"),
          `${model.file}${(model.files?.length ?? 1) > 1 ? ` (+${model.files!.length - 1} parts)` : ""}`,
          model.instances.join(",") || "-",
        ]),
      ),
    );
  });

models
  .command("rm <name>")
  .description("remove a model (refused while an instance uses it, unless --force)")
  .option("--force", "unload its instances first")
  .action(async (name: string, options: { force?: boolean }) => {
    await client().removeModel(name, options);
    print(`removed ${name}`);
  });

models
  .command("synth")
  .description(
    "write a Llama-shaped model with random weights and a real tokenizer (for tests and benchmarks)",
  )
  .requiredOption("--name <name>", "model name")
  .option("--layers <n>", "transformer blocks", integer("layers"), 4)
  .option("--embedding <n>", "embedding size", integer("embedding"), 256)
  .option("--ff <n>", "feed-forward size", integer("ff"))
  .option("--heads <n>", "attention heads", integer("heads"), 4)
  .option("--kv-heads <n>", "key/value heads", integer("kv-heads"))
  .addOption(new Option("--type <type>", "weight type").choices(["f16", "q8_0", "q4_0"]).default("f16"))
  .option(
    "--context <n>",
    "training context (llama.context_length): llama-server gives a slot at most this many tokens",
    integer("context"),
    2048,
  )
  // The option's first name, kept for scripts that use it.
  .addOption(new Option("--ctx <n>").argParser(integer("ctx")).hideHelp())
  .addOption(
    new Option(
      "--vocab <name>",
      "tokenizer, from llama.cpp's vocabularies (starcoder has fill-in-the-middle tokens)",
    )
      .choices(["llama-spm", "llama-bpe", "starcoder"])
      .default("llama-spm"),
  )
  .option("--seed <n>", "random seed", (value) => Number.parseInt(value, 10), 1)
  .option(
    "--block-scale <x>",
    "scale of what each block adds (below 1: shallower models of the same seed and width can draft for it)",
    Number.parseFloat,
  )
  .action(
    async (options: {
      name: string;
      layers: number;
      embedding: number;
      ff?: number;
      heads: number;
      kvHeads?: number;
      type: "f16" | "q8_0" | "q4_0";
      context: number;
      ctx?: number;
      vocab: "llama-spm" | "llama-bpe" | "starcoder";
      seed: number;
      blockScale?: number;
    }) => {
      const progress = createProgressDisplay(`synth ${options.name}`, "bytes");
      const profile = await client()
        .synthModel(
          {
            name: options.name,
            layers: options.layers,
            embedding: options.embedding,
            feedForward: options.ff ?? roundUp(Math.floor((options.embedding * 8) / 3), 32),
            heads: options.heads,
            kvHeads: options.kvHeads ?? options.heads,
            type: options.type,
            contextLength: options.ctx ?? options.context,
            vocabulary: options.vocab,
            seed: options.seed,
            blockScale: options.blockScale,
          },
          (completed, total) => progress.update(completed, total),
        )
        .finally(() => progress.stop());
      print(
        `wrote ${profile.name}: ${formatCount(profile.parameterCount)} parameters, ${profile.fileType}, ${formatBytes(profile.sizeBytes)}`,
      );
    },
  );

program
  .command("pull <ref>")
  .description(
    "download a model from Hugging Face (owner/repo, owner/repo:Q4_K_M or owner/repo/FILE.gguf), resuming and verified",
  )
  .option("--name <name>", "the name clients will use (default: from the repository and quantization)")
  .option("--offline", "do not use the network: succeed only if the model was pulled before")
  .action(async (ref: string, options: { name?: string; offline?: boolean }) => {
    // The bar appears once the size is known, so an error while resolving prints alone.
    let progress: ReturnType<typeof createProgressDisplay> | undefined;
    const profile = await client()
      .pullModel({ ref, name: options.name, offline: options.offline }, (update) => {
        if (update.total === 0) return;
        progress ??= createProgressDisplay(`pull ${ref}`, "bytes");
        progress.update(update.completed, update.total, update.bytesPerSecond);
      })
      .finally(() => progress?.stop());
    const files = profile.files?.length ?? 1;
    print(
      `pulled ${profile.name}: ${profile.architecture}, ${formatCount(profile.parameterCount)} parameters, ${profile.fileType}, ${formatBytes(profile.sizeBytes)}${files > 1 ? ` in ${files} files` : ""}, sha256 verified`,
    );
  });

/** Placement flags shared by `herd load` and `herd plan`. */
function withPlacementOptions(command: Command): Command {
  return command
    .option("--ctx <n>", "context size in tokens, shared by all slots", integer("ctx"))
    .option("--parallel <n>", "requests served at once (slots)", integer("parallel"))
    .addOption(new Option("--split <mode>", "how to split across nodes").choices(["auto", "layer", "tensor"]))
    .option("--nodes <list>", "use only these nodes (names or ids, comma-separated)")
    .option("--avoid <list>", "never use these nodes")
    .option("--min-nodes <n>", "use at least this many nodes", integer("min-nodes"))
    .option("--max-nodes <n>", "use at most this many nodes", integer("max-nodes"))
    .option("--threads <n>", "CPU threads for each engine", integer("threads"))
    .option("--replicas <n>", "instances on disjoint nodes, or 'auto' for as many as fit", replicaCount)
    .option("--draft <model>", "a smaller model of the same vocabulary for speculative decoding")
    .option("--draft-max <n>", "most tokens the draft proposes at a time", integer("draft-max"))
    .addOption(
      new Option(
        "--rpc-transport <transport>",
        "tunnel (keyed, default) or direct (trusted fabrics: RDMA, Thunderbolt)",
      ).choices(["tunnel", "direct"]),
    );
}

interface PlacementFlags {
  ctx?: number;
  parallel?: number;
  split?: "auto" | "layer" | "tensor";
  nodes?: string;
  avoid?: string;
  minNodes?: number;
  maxNodes?: number;
  threads?: number;
  rpcTransport?: "tunnel" | "direct";
  replicas?: number | "auto";
  draft?: string;
  draftMax?: number;
}

function loadRequest(model: string, options: PlacementFlags & { embeddings?: boolean }): LoadModelRequest {
  return {
    model,
    contextSize: options.ctx,
    parallel: options.parallel,
    embeddings: options.embeddings,
    threads: options.threads,
    split: options.split,
    nodes: options.nodes?.split(","),
    avoid: options.avoid?.split(","),
    minNodes: options.minNodes,
    maxNodes: options.maxNodes,
    rpcTransport: options.rpcTransport,
    replicas: options.replicas,
    draft: options.draft,
    draftMax: options.draftMax,
  };
}

function replicaCount(value: string): number | "auto" {
  return value === "auto" ? "auto" : integer("replicas")(value);
}

withPlacementOptions(
  program
    .command("load <model>")
    .description("place a model on the cluster, start its engines, and wait until it is READY"),
)
  .option("--embeddings", "serve /v1/embeddings")
  .option("--no-wait", "return at once instead of waiting for READY")
  .action(async (model: string, options: PlacementFlags & { embeddings?: boolean; wait: boolean }) => {
    const api = client();
    const request = loadRequest(model, options);
    if (!options.wait) {
      const created = await api.load(request);
      return print(`${created.id}: ${created.state} (${created.reason})`);
    }
    await loadAndFollow(api, request);
  });

withPlacementOptions(
  models
    .command("fit [model]")
    .description(
      "which models fit the cluster now (all local ones, one, or each quantization of a hub repository), best first",
    ),
)
  .option("--json", "print JSON")
  .action(async (model: string | undefined, options: PlacementFlags & { json?: boolean }) => {
    const { model: _, ...request } = loadRequest(model ?? "", options);
    const report = await client().fitModels({ ...request, model });
    if (options.json) return print(JSON.stringify(report, null, 2));
    if (report.candidates.length === 0) return print("no models (import or pull one first)");
    print(
      formatTable(
        ["MODEL", "QUANT", "SIZE", "FITS", "NODES", "HEAD", "SPLIT", "TOKENS/S", "NOTE"],
        report.candidates.map((candidate) => [
          candidate.ref ?? candidate.name,
          candidate.quantization,
          formatBytes(candidate.sizeBytes),
          candidate.fits ? "yes" : "no",
          candidate.fits ? `${candidate.nodeCount} (${candidate.nodes.join(",")})` : "-",
          candidate.head ?? "-",
          candidate.splitMode ?? "-",
          candidate.predictedDecodeTokensPerSecond?.toFixed(1) ?? "-",
          candidate.fits
            ? candidate.origin === "hub"
              ? `herd pull ${candidate.ref}`
              : "local"
            : candidate.reason,
        ]),
      ),
    );
  });

withPlacementOptions(
  program
    .command("plan <model>")
    .description("dry run: where the model would run, memory per node, predicted speed, and why"),
)
  .option("--json", "print JSON")
  .action(async (model: string, options: PlacementFlags & { json?: boolean }) => {
    const plan = await client().plan(loadRequest(model, options));
    print(options.json ? JSON.stringify(plan, null, 2) : renderPlan(plan, await client().cluster()));
  });

program
  .command("unload <model>")
  .description("stop a model's instances (by model name or instance id)")
  .action(async (model: string) => {
    const stopped = await client().unload(model);
    print(stopped.map((status) => `stopped ${status.id}`).join("\n") || "nothing was running");
  });

program
  .command("ps")
  .description("list the cluster's instances: where their head and shards run, and their state")
  .option("--json", "print JSON (this node's instances, with engine details)")
  .action(async (options: { json?: boolean }) => {
    if (options.json) return print(JSON.stringify(await client().instances(), null, 2));
    print(renderInstances(await client().cluster()));
  });

program
  .command("status")
  .description("the cluster: nodes, roles, memory, devices, links and health")
  .option("--watch", "refresh every second until Ctrl-C")
  .option("--json", "print JSON")
  .action(async (options: { watch?: boolean; json?: boolean }) => {
    const api = client();
    for (;;) {
      const view = await api.cluster();
      if (options.json) print(JSON.stringify(view, null, 2));
      else if (options.watch) process.stdout.write(`\x1b[2J\x1b[H${renderStatus(view)}\n`);
      else print(renderStatus(view));
      if (!options.watch) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  });

program
  .command("nodes")
  .description("list the cluster's nodes")
  .option("--json", "print JSON")
  .action(async (options: { json?: boolean }) => {
    const view = await client().cluster();
    print(options.json ? JSON.stringify(view.nodes, null, 2) : renderNodes(view));
  });

program
  .command("join-token")
  .description("print the token another machine needs to join: herd start --join <token> (it is a secret)")
  .action(async () => {
    print(await client().joinToken());
  });

program
  .command("logs")
  .description("a node's log: this node's, or another's with --node (read through this node)")
  .option("--node <name>", "the node whose log to show (name or id)")
  .option("-n, --lines <n>", "how many of the last lines to show", (value) => Number.parseInt(value, 10), 100)
  .option("-f, --follow", "keep showing new lines until Ctrl-C")
  .option("--json", "print the JSON lines as written")
  .action(async (options: { node?: string; lines: number; follow?: boolean; json?: boolean }) => {
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    const lines = await client().logs(
      { node: options.node, lines: options.lines, follow: options.follow },
      stop.signal,
    );
    for await (const line of lines) print(options.json ? line : renderLogLine(line));
  });

const keys = program.command("keys").description("API keys: every node of the cluster accepts the same keys");

keys
  .command("create")
  .description("create an API key and print it (it is shown only this once)")
  .option("--name <name>", "a name to recognise the key by")
  .addOption(
    new Option("--scope <scope>", "inference: model APIs; admin: also management")
      .choices(["inference", "admin"])
      .default("inference"),
  )
  .option("--rpm <n>", "requests per minute (0: unlimited)", wholeNumber("rpm"))
  .option("--tpm <n>", "tokens per minute (0: unlimited)", wholeNumber("tpm"))
  .addOption(
    new Option("--policy <policy>", "local-only: requests with this key never go to an upstream")
      .choices(["any", "local-only"])
      .default("any"),
  )
  .option("--home <dir>", "with no node running, write the key into this HERD_HOME")
  .action(
    async (options: {
      name?: string;
      scope: "inference" | "admin";
      rpm?: number;
      tpm?: number;
      policy: "any" | "local-only";
      home?: string;
    }) => {
      const request = {
        name: options.name,
        scope: options.scope,
        requestsPerMinute: options.rpm,
        tokensPerMinute: options.tpm,
        policy: options.policy,
      };
      let created: CreatedApiKey;
      try {
        created = await client().createKey(request);
      } catch (error) {
        // With no node running on this machine, the key goes straight into HERD_HOME: this is how
        // the first key is made for a node that will serve on a network address.
        if (!(error instanceof HerdUnreachableError) || !isLocalUrl(client().baseUrl)) throw error;
        const { createApiKeyOffline } = await node();
        const written = await createApiKeyOffline({ home: options.home }, request);
        created = written.created;
        process.stderr.write(`no node answers at ${client().baseUrl}; wrote the key to ${written.path}\n`);
      }
      const key = created.key;
      process.stderr.write(
        `created key ${key.id} (${key.name}, ${key.scope}, ${formatLimit(key.requestsPerMinute)} requests/min, ${formatLimit(key.tokensPerMinute)} tokens/min${key.policy === "local-only" ? ", local-only" : ""}); it is shown only now:\n`,
      );
      print(created.secret);
    },
  );

keys
  .command("list")
  .alias("ls")
  .description("list the cluster's API keys (never their secrets)")
  .option("--json", "print JSON")
  .action(async (options: { json?: boolean }) => {
    const list = await client().keys();
    if (options.json) return print(JSON.stringify(list, null, 2));
    print(
      formatTable(
        ["ID", "NAME", "SCOPE", "REQUESTS/MIN", "TOKENS/MIN", "POLICY", "CREATED", "REVOKED"],
        list.map((key) => [
          key.id,
          key.name,
          key.scope,
          formatLimit(key.requestsPerMinute),
          formatLimit(key.tokensPerMinute),
          key.policy ?? "any",
          key.createdAt.slice(0, 19).replace("T", " "),
          key.revokedAt ? key.revokedAt.slice(0, 19).replace("T", " ") : "-",
        ]),
      ),
    );
  });

keys
  .command("revoke <id>")
  .description("revoke an API key on every node")
  .action(async (id: string) => {
    const revoked = await client().revokeKey(id);
    print(`revoked ${revoked.id} (${revoked.name})`);
  });

function wholeNumber(name: string) {
  return (value: string) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0)
      throw new InvalidArgumentError(`${name} must be a whole number (0 for unlimited)`);
    return parsed;
  };
}

function formatLimit(limit: number): string {
  return limit === 0 ? "unlimited" : String(limit);
}

function isLocalUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

addThroughputCommands(program, client);
addHealthCommand(program, client);
addServiceCommands(program);
addRunCommand(program, client);
addModelsVerifyCommand(models, client);
addStopCommand(program, client);
addAliasCommands(program, client);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof HerdApiError || error instanceof HerdUnreachableError || error instanceof HerdError) {
    process.stderr.write(`herd: ${error.message}\n`);
  } else {
    process.stderr.write(
      `herd: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exitCode = 1;
}
