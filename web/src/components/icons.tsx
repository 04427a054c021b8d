// Small inline icons (drawn in currentColor) for buttons that carry an aria-label: text
// glyphs render differently, or not at all, across system fonts.

const paths = {
  play: "M8 5v14l11-7z",
  plus: "M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z",
  playlistAdd: "M3 6h12v2H3zm0 4h12v2H3zm0 4h8v2H3zm14-1v-3h2v3h3v2h-3v3h-2v-3h-3v-2z",
  up: "M12 6l-6 6 1.4 1.4L11 9.8V19h2V9.8l3.6 3.6L18 12z",
  down: "M12 18l6-6-1.4-1.4-3.6 3.6V5h-2v9.2l-3.6-3.6L6 12z",
  close: "M6.4 5L5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12 19 6.4 17.6 5 12 10.6z",
  grip: "M9 5h2v2H9zm4 0h2v2h-2zM9 11h2v2H9zm4 0h2v2h-2zM9 17h2v2H9zm4 0h2v2h-2z",
};

export function Icon({ name, size = 20 }: { name: keyof typeof paths; size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="currentColor">
      <path d={paths[name]} />
    </svg>
  );
}
