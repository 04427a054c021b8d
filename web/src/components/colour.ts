// A stable colour for something without a picture (an artist, a playlist without a cover),
// so it looks the same wherever it appears.

export function hue(id: string): number {
  return [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 0);
}

export function hueOf(id: string): string {
  return `hsl(${hue(id)} 45% 32%)`;
}
