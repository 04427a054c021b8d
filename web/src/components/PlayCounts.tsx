// The public play counts of a song or an artist, as a labelled list of figures.

import type { SongStats } from "../types";

type Counts = Omit<SongStats, "songId">;

const FIGURES: [label: string, key: keyof Counts][] = [
  ["Plays", "plays"],
  ["Listeners", "listeners"],
  ["Played to the end", "completions"],
  ["Skips", "skips"],
];

/** Every figure, or all but the skips (a song's page leaves them out). */
export function PlayCounts({ stats, skips = true }: { stats: Counts; skips?: boolean }) {
  const shown = skips ? FIGURES : FIGURES.filter(([, key]) => key !== "skips");
  return (
    <dl class="stats" aria-label="Play counts">
      {shown.map(([label, key]) => (
        <div key={key}>
          <dt>{label}</dt>
          <dd>{stats[key].toLocaleString()}</dd>
        </div>
      ))}
    </dl>
  );
}
