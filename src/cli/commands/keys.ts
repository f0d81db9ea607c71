import { type Command, Option } from "commander";
import { z } from "zod";
import { type HerdClient, HerdUnreachableError } from "../../client/herd-client.js";
import { ApiKeyScope, type CreatedApiKey } from "../../protocol/api-keys.js";
import { RequestPolicy } from "../../protocol/upstream.js";
import { wholeNumber } from "../argument-parsers.js";
import { localNode } from "../local-node.js";
import { print } from "../print.js";
import { formatTable } from "../table.js";

const CreateFlags = z.object({
  name: z.string().optional(),
  scope: ApiKeyScope,
  rpm: z.number().optional(),
  tpm: z.number().optional(),
  policy: RequestPolicy,
  home: z.string().optional(),
});
const JsonFlag = z.object({ json: z.boolean().optional() });

/** `herd keys create|list|revoke`: the API keys every node of the cluster accepts. */
export function addKeyCommands(program: Command, client: () => HerdClient): void {
  const keys = program
    .command("keys")
    .description("API keys: every node of the cluster accepts the same keys");

  keys
    .command("create")
    .description("create an API key and print it (it is shown only this once)")
    .option("--name <name>", "a name to recognise the key by")
    .addOption(
      new Option("--scope <scope>", "inference: model APIs; admin: also management")
        .choices(ApiKeyScope.options)
        .default("inference"),
    )
    .option("--rpm <n>", "requests per minute (0: unlimited)", wholeNumber("rpm"))
    .option("--tpm <n>", "tokens per minute (0: unlimited)", wholeNumber("tpm"))
    .addOption(
      new Option("--policy <policy>", "local-only: requests with this key never go to an upstream")
        .choices(["any", "local-only"] satisfies RequestPolicy[])
        .default("any"),
    )
    .option("--home <dir>", "with no node running, write the key into this HERD_HOME")
    .action(async (raw: unknown) => {
      const options = CreateFlags.parse(raw);
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
        const { createApiKeyOffline } = await localNode();
        const written = await createApiKeyOffline({ home: options.home }, request);
        created = written.created;
        process.stderr.write(`no node answers at ${client().baseUrl}; wrote the key to ${written.path}\n`);
      }
      const key = created.key;
      process.stderr.write(
        `created key ${key.id} (${key.name}, ${key.scope}, ${formatLimit(key.requestsPerMinute)} requests/min, ${formatLimit(key.tokensPerMinute)} tokens/min${key.policy === "local-only" ? ", local-only" : ""}); it is shown only now:\n`,
      );
      print(created.secret);
    });

  keys
    .command("list")
    .alias("ls")
    .description("list the cluster's API keys (never their secrets)")
    .option("--json", "print JSON")
    .action(async (raw: unknown) => {
      const list = await client().keys();
      if (JsonFlag.parse(raw).json) return print(JSON.stringify(list, null, 2));
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
}

function formatLimit(limit: number): string {
  return limit === 0 ? "unlimited" : String(limit);
}

function isLocalUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}
