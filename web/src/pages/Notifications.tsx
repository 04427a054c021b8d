// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function Notifications(_: { params: Params }) { return <p>Notifications</p>; }
