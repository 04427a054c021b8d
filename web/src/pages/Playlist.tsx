// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function PlaylistPage(_: { params: Params }) { return <p>PlaylistPage</p>; }
export function SharedPlaylistPage(_: { params: Params }) { return <p>SharedPlaylistPage</p>; }
