// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function Rooms(_: { params: Params }) { return <p>Rooms</p>; }
export function RoomPage(_: { params: Params }) { return <p>RoomPage</p>; }
