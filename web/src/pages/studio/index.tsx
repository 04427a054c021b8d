// Placeholder: replaced by the page's implementation.
import type { Params } from "../../router";
export function Studio(_: { params: Params }) { return <p>Studio</p>; }
export function Upload(_: { params: Params }) { return <p>Upload</p>; }
export function StudioSong(_: { params: Params }) { return <p>StudioSong</p>; }
