// A first view of the node until the full dashboard exists: what runs here, refreshed every 2 s.
interface InstanceRow {
  id: string;
  model: string;
  state: string;
  reason: string;
}

async function refresh(): Promise<void> {
  const summary = document.querySelector("#summary")!;
  const table = document.querySelector("#instances")!;
  try {
    const response = await fetch("/herd/v1/instances");
    const { instances } = (await response.json()) as { instances: InstanceRow[] };
    summary.textContent = `${instances.length} instance(s) on this node`;
    table.replaceChildren(
      ...instances.map((instance) => {
        const row = document.createElement("tr");
        for (const text of [instance.id, instance.model, instance.state, instance.reason]) {
          const cell = document.createElement("td");
          cell.textContent = text;
          row.append(cell);
        }
        return row;
      }),
    );
  } catch (error) {
    summary.textContent = `cannot reach the node: ${(error as Error).message}`;
  }
}

void refresh();
setInterval(refresh, 2000);
