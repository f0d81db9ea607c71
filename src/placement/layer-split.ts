/**
 * Divides `total` blocks over devices given in order of preference groups: every device gets one,
 * then the groups in order (fastest first) take what is left up to each device's `max`, and inside a
 * group in proportion to `max` (largest remainder, earlier devices first on ties). Undefined when the
 * devices cannot hold `total` with at least one block each.
 *
 * @example splitLayers(10, [{ max: 9, group: 0 }, { max: 9, group: 0 }]) // → [5, 5]
 */
export function splitLayers(
  total: number,
  devices: ReadonlyArray<{ max: number; group: number }>,
): number[] | undefined {
  if (devices.length === 0 || total < devices.length) return undefined;
  if (devices.some((device) => device.max < 1)) return undefined;
  if (devices.reduce((sum, device) => sum + Math.min(device.max, total), 0) < total) return undefined;
  const counts = devices.map(() => 1);
  let left = total - devices.length;
  const groups = [...new Set(devices.map((device) => device.group))].sort((a, b) => a - b);
  for (const group of groups) {
    if (left === 0) break;
    const members = devices.flatMap((device, index) => (device.group === group ? [index] : []));
    const room = members.map((index) => Math.min(devices[index]!.max, total) - 1);
    const roomTotal = room.reduce((sum, value) => sum + value, 0);
    const share = Math.min(left, roomTotal);
    if (share === 0) continue;
    const exact = room.map((value) => (share * value) / roomTotal);
    const given = exact.map(Math.floor);
    let leftover = share - given.reduce((sum, value) => sum + value, 0);
    const byRemainder = exact
      .map((value, position) => ({ position, remainder: value - Math.floor(value) }))
      .sort((a, b) => b.remainder - a.remainder || a.position - b.position);
    for (const { position } of byRemainder) {
      if (leftover === 0) break;
      if (given[position]! < room[position]!) {
        given[position]!++;
        leftover--;
      }
    }
    members.forEach((index, position) => {
      counts[index]! += given[position]!;
    });
    left -= share;
  }
  return counts;
}

/**
 * Tensor-split proportions: in proportion to `weight` (bandwidth, so every device finishes together),
 * none above its `max` (memory); what a capped device cannot take goes to the others. Undefined when
 * the caps add up to less than the whole.
 */
export function splitFractions(
  devices: ReadonlyArray<{ weight: number; max: number }>,
): number[] | undefined {
  if (devices.reduce((sum, device) => sum + Math.max(0, device.max), 0) < 1) return undefined;
  const fractions = devices.map(() => 0);
  const open = new Set(devices.map((_, index) => index));
  let left = 1;
  while (open.size > 0 && left > 1e-12) {
    const weight = [...open].reduce((sum, index) => sum + devices[index]!.weight, 0);
    const capped = [...open].filter(
      (index) => (left * devices[index]!.weight) / weight > Math.max(0, devices[index]!.max),
    );
    if (capped.length === 0) {
      for (const index of open) fractions[index] = (left * devices[index]!.weight) / weight;
      break;
    }
    for (const index of capped) {
      fractions[index] = Math.max(0, devices[index]!.max);
      left -= fractions[index]!;
      open.delete(index);
    }
  }
  return fractions;
}
