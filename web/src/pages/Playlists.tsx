// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function Playlists(_: { params: Params }) { return <p>Playlists</p>; }
