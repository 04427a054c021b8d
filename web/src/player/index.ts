// The player: this browser as one of the listener's devices, following the shared playback
// state (or a listening room's). Other parts of the app use `current`, `playSongs` and
// `addToQueue`; the player bar uses the rest.

import "./sync";
import "./audio";
import "./tracking";
import "./mediaSession";
import "./shortcuts";

export {
  current,
  playing,
  playSongs,
  addToQueue,
  togglePlay,
  next,
  previous,
  seek,
  jumpTo,
  playHere,
  transferTo,
} from "./controls";
export { state, roomCode, followRoom, audible } from "./sync";
export { deviceId } from "./device";
