/** Warnings herd can explain (a path that could carry RDMA and does not), one a line; nothing when there are none. */
export function WarningList({ warnings }: { warnings: string[] }) {
  if (warnings.length === 0) return null;
  return (
    <ul class="warnings" data-testid="rdma-warnings">
      {warnings.map((warning) => (
        <li key={warning}>{warning.replace(/^warning: /, "")}</li>
      ))}
    </ul>
  );
}
