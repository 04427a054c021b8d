// The artist studio: the dashboard, the upload form and the song editor.

export { Studio } from "./Dashboard";
export { Upload } from "./Upload";
export { StudioSong } from "./SongEditor";
