import { z } from "zod";

/** A Thunderbolt port of this Mac: `receptacle` is the `<n>` of `networksetup`'s `Thunderbolt <n>`. */
export interface ThunderboltPort {
  receptacle: number;
  /** The port's top rate (`Up to 120 Gb/s` → 120): 40 for Thunderbolt 4 / USB4, 80 or 120 for Thunderbolt 5. */
  maxGbps?: number;
  connected: boolean;
}

const Receptacle = z.object({
  receptacle_id_key: z.string().optional(),
  current_speed_key: z.string().optional(),
  receptacle_status_key: z.string().optional(),
});
const ThunderboltData = z.object({
  SPThunderboltDataType: z.array(z.object({ receptacle_1_tag: Receptacle.optional() }).passthrough()),
});

/** Parses `system_profiler SPThunderboltDataType -json`: one entry per bus, each with its port. */
export function parseThunderboltPorts(json: string): ThunderboltPort[] {
  const data = ThunderboltData.parse(JSON.parse(json));
  const ports: ThunderboltPort[] = [];
  for (const bus of data.SPThunderboltDataType) {
    const receptacle = Number(bus.receptacle_1_tag?.receptacle_id_key);
    // A bus without a receptacle of its own (an older Mac's internal controller) has no port to name.
    if (!Number.isInteger(receptacle)) continue;
    const speed = /(\d+) Gb\/s/.exec(bus.receptacle_1_tag?.current_speed_key ?? "")?.[1];
    ports.push({
      receptacle,
      ...(speed ? { maxGbps: Number(speed) } : {}),
      connected: bus.receptacle_1_tag?.receptacle_status_key === "receptacle_connected",
    });
  }
  return ports.sort((a, b) => a.receptacle - b.receptacle);
}
