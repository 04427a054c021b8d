// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function AlbumPage(_: { params: Params }) { return <p>AlbumPage</p>; }
