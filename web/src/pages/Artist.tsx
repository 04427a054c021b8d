// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function ArtistPage(_: { params: Params }) { return <p>ArtistPage</p>; }
