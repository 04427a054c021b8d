// Every page of the app: its path, the page, and who may open it.

import type { FunctionComponent } from "preact";
import type { Params } from "./router";
import type { Role } from "./types";

import { Home } from "./pages/Home";
import { Search } from "./pages/Search";
import { SongPage } from "./pages/Song";
import { ArtistPage } from "./pages/Artist";
import { AlbumPage } from "./pages/Album";
import { Playlists } from "./pages/Playlists";
import { PlaylistPage, SharedPlaylistPage } from "./pages/Playlist";
import { History } from "./pages/History";
import { Devices } from "./pages/Devices";
import { Rooms, RoomPage } from "./pages/Rooms";
import { SignIn, SignUp, CodeSignIn, ResetPassword, VerifyEmail, GoogleCallback } from "./pages/auth";
import { Account } from "./pages/Account";
import { Notifications } from "./pages/Notifications";
import { Studio, Upload, StudioSong } from "./pages/studio";
import { Admin } from "./pages/admin";

export type Page = FunctionComponent<{ params: Params }>;

/** Who may open a page: anyone, anyone signed in, or these roles. */
export type Need = "anyone" | "signed-in" | Role[];

export const routes: [string, { page: Page; need: Need }][] = [
  ["/", { page: Home, need: "anyone" }],
  ["/search", { page: Search, need: "anyone" }],
  ["/songs/:id", { page: SongPage, need: "anyone" }],
  ["/artists/:id", { page: ArtistPage, need: "anyone" }],
  ["/albums/:id", { page: AlbumPage, need: "anyone" }],
  ["/playlists", { page: Playlists, need: "signed-in" }],
  ["/playlists/:id", { page: PlaylistPage, need: "anyone" }],
  ["/shared/:token", { page: SharedPlaylistPage, need: "anyone" }],
  ["/history", { page: History, need: "signed-in" }],
  ["/devices", { page: Devices, need: "signed-in" }],
  ["/rooms", { page: Rooms, need: "signed-in" }],
  ["/rooms/:code", { page: RoomPage, need: "signed-in" }],
  ["/signin", { page: SignIn, need: "anyone" }],
  ["/signup", { page: SignUp, need: "anyone" }],
  ["/signin/code", { page: CodeSignIn, need: "anyone" }],
  ["/reset-password", { page: ResetPassword, need: "anyone" }],
  ["/verify-email", { page: VerifyEmail, need: "signed-in" }],
  ["/auth/callback", { page: GoogleCallback, need: "anyone" }],
  ["/account", { page: Account, need: "signed-in" }],
  ["/notifications", { page: Notifications, need: "signed-in" }],
  ["/studio", { page: Studio, need: ["artist", "admin"] }],
  ["/studio/upload", { page: Upload, need: ["artist", "admin"] }],
  ["/studio/songs/:id", { page: StudioSong, need: ["artist", "admin"] }],
  ["/admin", { page: Admin, need: ["admin"] }],
  ["/admin/:section", { page: Admin, need: ["admin"] }],
];
