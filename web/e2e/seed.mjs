// Test data: generated cover images, and a small catalog for the screenshots (a few artists
// with songs in several genres, covers and an album), made through the API as a client would.
// The user stories do not depend on the catalog.

import { deflateSync } from "node:zlib";
import { call, wav } from "./browser.mjs";

const artists = [
  { name: "Marta Solé", genre: "jazz", hue: [200, 120, 60], songs: ["Blue Hour", "Late Tram", "Rain on Tin"] },
  { name: "The Lowlands", genre: "folk", hue: [60, 140, 90], songs: ["River Road", "Hollow Pines", "Lanterns"] },
  { name: "Kilowatt", genre: "electronic", hue: [120, 60, 200], songs: ["Night Grid", "Neon Drift", "Pulse Code"] },
];

export async function seed(run, password) {
  for (const [i, artist] of artists.entries()) {
    const email = `seed-${i}-${run}@example.com`;
    const { accessToken: token } = await call("/api/auth/register", {
      body: { email, password, displayName: artist.name, role: "artist" },
    });
    const album = await call("/api/albums", { token, body: { title: `${artist.songs[0]} and other songs`, isPublic: true } });
    for (const [j, title] of artist.songs.entries()) {
      const form = new FormData();
      form.set("audio", new Blob([wav(20 + j * 7)], { type: "audio/wav" }), `${title}.wav`);
      form.set("cover", new Blob([cover(artist.hue, j)], { type: "image/png" }), "cover.png");
      form.set("title", title);
      form.set("genre", artist.genre);
      form.set("tags", `${artist.genre},calm`);
      form.set("albumId", album.id);
      await call("/api/songs", { token, form });
    }
  }
}

/** A 192×192 PNG: a diagonal gradient from `rgb` with rings, different for each `n`. */
export function cover([r, g, b], n) {
  const size = 192;
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let x = 0; x < size; x++) {
      const t = (x + y) / (2 * size);
      const ring = Math.sin(Math.hypot(x - 60 - n * 30, y - 130) / (6 + n * 2)) * 0.12 + 0.88;
      row[1 + x * 3] = Math.min(255, (r * (1 - t) + 20 * t) * ring);
      row[2 + x * 3] = Math.min(255, (g * (1 - t) + 30 * t) * ring);
      row[3 + x * 3] = Math.min(255, (b * (1 - t) + 60 * t) * ring);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes) {
  let c = ~0;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
