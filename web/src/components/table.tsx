// The pieces every data table repeats (admin lists, the studio's songs): the column headings
// and the actions cell, so the markup the responsive CSS relies on stays the same everywhere.

import type { ComponentChildren } from "preact";

export interface Column {
  label: string;
  /** Right-aligned figures. */
  num?: boolean;
  /** A heading only screen readers need (the cover, the actions). */
  hidden?: boolean;
}

export function TableHead({ columns }: { columns: Column[] }) {
  return (
    <thead>
      <tr>
        {columns.map(({ label, num, hidden }) => (
          <th key={label} scope="col" class={num ? "num" : undefined}>
            {hidden ? <span class="visually-hidden">{label}</span> : label}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** The last cell: a row of buttons, and any `note` (such as a failure) under them. */
export function ActionsCell({ children, note }: { children: ComponentChildren; note?: ComponentChildren }) {
  return (
    <td class="actions">
      <div class="row">{children}</div>
      {note}
    </td>
  );
}
