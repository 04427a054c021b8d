//! The playback state of a user or a listening room, and what each command does to it. Pure:
//! no storage, no clock of its own (the time is passed in), so every rule is unit-tested.

use serde::{Deserialize, Serialize};
use spindle_shared::events::{RepeatMode, SyncAction};

/// The most entries a queue holds.
pub const MAX_QUEUE: usize = 10_000;
/// `previous` past this point restarts the current entry instead of going back.
pub const RESTART_AFTER_MS: u64 = 3_000;

/// One entry of the queue: the same song may be queued more than once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub entry_id: String,
    pub song_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Repeat {
    Off,
    All,
    One,
}

impl From<RepeatMode> for Repeat {
    fn from(mode: RepeatMode) -> Self {
        match mode {
            RepeatMode::Off => Repeat::Off,
            RepeatMode::All => Repeat::All,
            RepeatMode::One => Repeat::One,
        }
    }
}

/// What is stored (as JSON) beside the version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Player {
    pub queue: Vec<Entry>,
    /// The current entry's id.
    pub current: Option<String>,
    /// The position as of `position_at` (server time, ms).
    pub position_ms: u64,
    pub position_at: u64,
    pub playing: bool,
    pub playback_rate: f64,
    pub shuffle: bool,
    /// The shuffled play order (entry ids) while `shuffle` is on; empty otherwise.
    pub order: Vec<String>,
    pub repeat: Repeat,
    pub volume: u8,
    pub active_device_id: Option<String>,
    pub changed_by_device_id: Option<String>,
    pub changed_at: u64,
    pub last_command_id: Option<String>,
    /// The number of the next entry id.
    pub next_entry: u64,
}

/// Why a command could not be applied; the state stays as it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: &'static str,
    pub detail: String,
}

pub fn reject(reason: &'static str, detail: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        detail: detail.into(),
    }
}

/// Who sends a command, as far as the player cares.
pub struct Sender<'a> {
    pub device_id: &'a str,
    /// Rooms have no active device: every member's device plays along.
    pub in_room: bool,
}

impl Player {
    pub fn new(now: u64) -> Self {
        Self {
            queue: Vec::new(),
            current: None,
            position_ms: 0,
            position_at: now,
            playing: false,
            playback_rate: 1.0,
            shuffle: false,
            order: Vec::new(),
            repeat: Repeat::Off,
            volume: 100,
            active_device_id: None,
            changed_by_device_id: None,
            changed_at: now,
            last_command_id: None,
            next_entry: 1,
        }
    }

    /// The position at server time `now`.
    pub fn position_at(&self, now: u64) -> u64 {
        if !self.playing {
            return self.position_ms;
        }
        let elapsed = now.saturating_sub(self.position_at) as f64 * self.playback_rate;
        self.position_ms.saturating_add(elapsed as u64)
    }

    pub fn current_index(&self) -> Option<usize> {
        let current = self.current.as_deref()?;
        self.queue.iter().position(|e| e.entry_id == current)
    }

    /// Entry ids in the order `next` and `previous` walk.
    pub fn play_order(&self) -> Vec<String> {
        if self.shuffle {
            self.order.clone()
        } else {
            self.queue.iter().map(|e| e.entry_id.clone()).collect()
        }
    }

    /// Freezes the position as of `now` (before a change of playing, rate or entry).
    fn settle(&mut self, now: u64) {
        self.position_ms = self.position_at(now);
        self.position_at = now;
    }

    fn jump(&mut self, entry_id: Option<String>, now: u64) {
        self.current = entry_id;
        self.position_ms = 0;
        self.position_at = now;
    }

    fn new_entries(&mut self, song_ids: &[String]) -> Vec<Entry> {
        song_ids
            .iter()
            .map(|song_id| {
                let entry = Entry {
                    entry_id: format!("e{}", self.next_entry),
                    song_id: song_id.clone(),
                };
                self.next_entry += 1;
                entry
            })
            .collect()
    }

    fn make_active(&mut self, sender: &Sender<'_>) {
        if !sender.in_room && self.active_device_id.is_none() {
            self.active_device_id = Some(sender.device_id.to_string());
        }
    }

    /// Applies `action` at server time `now`. `owns_device` says whether a transfer target is
    /// one of the sender's devices.
    pub fn apply(
        &mut self,
        action: &SyncAction,
        sender: &Sender<'_>,
        now: u64,
        owns_device: impl Fn(&str) -> bool,
    ) -> Result<(), Rejection> {
        match action {
            SyncAction::Play(song) => self.play(song.as_deref(), sender, now)?,
            SyncAction::Pause => {
                self.settle(now);
                self.playing = false;
            }
            SyncAction::Seek(position) => {
                self.position_ms = *position;
                self.position_at = now;
            }
            SyncAction::Next => self.next(now)?,
            SyncAction::Previous => self.previous(now)?,
            SyncAction::SetQueue(set) => {
                self.queue = self.new_entries(&set.song_ids);
                let start = self
                    .queue
                    .get(set.start_index as usize)
                    .or(self.queue.first())
                    .map(|e| e.entry_id.clone());
                self.jump(start, now);
                self.reshuffle();
                self.playing = self.current.is_some();
                if self.playing {
                    self.make_active(sender);
                }
            }
            SyncAction::AddToQueue(song_ids) => {
                if self.queue.len() + song_ids.len() > MAX_QUEUE {
                    return Err(reject(
                        "queue_full",
                        format!("a queue holds at most {MAX_QUEUE} entries"),
                    ));
                }
                let entries = self.new_entries(song_ids);
                if self.shuffle {
                    self.order
                        .extend(entries.iter().map(|e| e.entry_id.clone()));
                }
                self.queue.extend(entries);
            }
            SyncAction::Transfer(transfer) => {
                if sender.in_room {
                    return Err(reject("not_allowed", "a room has no device to transfer"));
                }
                if !owns_device(&transfer.to_device_id) {
                    return Err(reject(
                        "unknown_device",
                        "the target device is not one of yours (any more)",
                    ));
                }
                self.settle(now);
                self.active_device_id = Some(transfer.to_device_id.clone());
                self.playing = transfer.keep_playing && self.current.is_some();
            }
            SyncAction::SetVolume(volume) => self.volume = (*volume).min(100),
            SyncAction::SetShuffle(on) => {
                self.shuffle = *on;
                self.reshuffle();
            }
            SyncAction::SetRepeat(mode) => self.repeat = (*mode).into(),
            SyncAction::Jump(entry_id) => {
                if !self.queue.iter().any(|e| &e.entry_id == entry_id) {
                    return Err(reject(
                        "unknown_entry",
                        "that entry is not in the queue (any more)",
                    ));
                }
                // The shuffled order stays: only where playback is in it moves.
                self.jump(Some(entry_id.clone()), now);
                self.playing = true;
                self.make_active(sender);
            }
        }
        Ok(())
    }

    fn play(&mut self, song: Option<&str>, sender: &Sender<'_>, now: u64) -> Result<(), Rejection> {
        match song {
            Some(song_id) => {
                if self.queue.len() >= MAX_QUEUE {
                    return Err(reject(
                        "queue_full",
                        format!("a queue holds at most {MAX_QUEUE} entries"),
                    ));
                }
                let entry = self.new_entries(&[song_id.to_string()]).remove(0);
                let at = self.current_index().map_or(self.queue.len(), |i| i + 1);
                if self.shuffle {
                    let after = self
                        .current
                        .as_ref()
                        .and_then(|c| self.order.iter().position(|e| e == c))
                        .map_or(self.order.len(), |i| i + 1);
                    self.order.insert(after, entry.entry_id.clone());
                }
                let id = entry.entry_id.clone();
                self.queue.insert(at, entry);
                self.jump(Some(id), now);
            }
            None => {
                if self.queue.is_empty() {
                    return Err(reject("empty_queue", "the queue is empty"));
                }
                if self.current_index().is_none() {
                    let first = self.play_order().into_iter().next();
                    self.jump(first, now);
                } else {
                    self.settle(now);
                }
            }
        }
        self.playing = true;
        self.make_active(sender);
        Ok(())
    }

    /// The play order and the current entry's place in it; rejected when the queue is empty.
    fn order_and_place(&self) -> Result<(Vec<String>, Option<usize>), Rejection> {
        let order = self.play_order();
        if order.is_empty() {
            return Err(reject("empty_queue", "the queue is empty"));
        }
        let at = self
            .current
            .as_ref()
            .and_then(|c| order.iter().position(|e| e == c));
        Ok((order, at))
    }

    fn next(&mut self, now: u64) -> Result<(), Rejection> {
        let (order, at) = self.order_and_place()?;
        match at {
            None => self.jump(Some(order[0].clone()), now),
            Some(i) if i + 1 < order.len() => self.jump(Some(order[i + 1].clone()), now),
            Some(_) if self.repeat != Repeat::Off => self.jump(Some(order[0].clone()), now),
            Some(_) => {
                // The end of the queue: playback stops on the last entry.
                self.jump(self.current.clone(), now);
                self.playing = false;
            }
        }
        Ok(())
    }

    fn previous(&mut self, now: u64) -> Result<(), Rejection> {
        let (order, at) = self.order_and_place()?;
        let target = match at {
            None => order[0].clone(),
            Some(i) if self.position_at(now) > RESTART_AFTER_MS => order[i].clone(),
            Some(0) if self.repeat == Repeat::All => order[order.len() - 1].clone(),
            Some(0) => order[0].clone(),
            Some(i) => order[i - 1].clone(),
        };
        self.jump(Some(target), now);
        Ok(())
    }

    /// A fresh shuffled order with the current entry first (shuffle on), or none (off).
    fn reshuffle(&mut self) {
        if !self.shuffle {
            self.order.clear();
            return;
        }
        let mut rest: Vec<String> = self
            .queue
            .iter()
            .map(|e| e.entry_id.clone())
            .filter(|id| Some(id) != self.current.as_ref())
            .collect();
        // Fisher–Yates with the host's randomness.
        for i in (1..rest.len()).rev() {
            let j = (random_u64() % (i as u64 + 1)) as usize;
            rest.swap(i, j);
        }
        self.order = self.current.iter().cloned().chain(rest).collect();
    }

    /// The active device stopped answering: nothing plays; the position is kept.
    pub fn drop_active_device(&mut self, now: u64) {
        self.settle(now);
        self.playing = false;
        self.active_device_id = None;
        self.changed_by_device_id = None;
        self.changed_at = now;
    }
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the host provides randomness");
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_shared::events::{SetQueue, Transfer};

    const ME: Sender<'static> = Sender {
        device_id: "d1",
        in_room: false,
    };

    fn queued(songs: &[&str]) -> Player {
        let mut p = Player::new(0);
        let set = SyncAction::SetQueue(SetQueue {
            song_ids: songs.iter().map(|s| s.to_string()).collect(),
            start_index: 0,
        });
        p.apply(&set, &ME, 1_000, |_| true).unwrap();
        p
    }

    fn song(p: &Player) -> Option<&str> {
        let i = p.current_index()?;
        Some(&p.queue[i].song_id)
    }

    #[test]
    fn set_queue_starts_playing_and_makes_the_sender_active() {
        let p = queued(&["a", "b", "a"]);
        assert_eq!(p.queue.len(), 3);
        assert_eq!(p.queue[0].entry_id, "e1");
        assert_ne!(p.queue[0].entry_id, p.queue[2].entry_id);
        assert_eq!(song(&p), Some("a"));
        assert!(p.playing);
        assert_eq!(p.active_device_id.as_deref(), Some("d1"));
        assert_eq!(p.position_at(3_500), 2_500);
    }

    #[test]
    fn pause_freezes_the_position_and_play_resumes_from_it() {
        let mut p = queued(&["a"]);
        p.apply(&SyncAction::Pause, &ME, 5_000, |_| true).unwrap();
        assert!(!p.playing);
        assert_eq!(p.position_at(9_000), 4_000);
        p.apply(&SyncAction::Play(None), &ME, 9_000, |_| true)
            .unwrap();
        assert_eq!(p.position_at(10_000), 5_000);
    }

    #[test]
    fn jump_plays_that_entry_and_keeps_the_shuffled_order() {
        let mut p = queued(&["a", "b", "a", "c"]);
        p.apply(&SyncAction::SetShuffle(true), &ME, 1_500, |_| true)
            .unwrap();
        let order = p.order.clone();
        p.apply(&SyncAction::Pause, &ME, 2_000, |_| true).unwrap();
        p.apply(&SyncAction::Jump("e3".into()), &ME, 4_000, |_| true)
            .unwrap();
        assert_eq!(
            p.current.as_deref(),
            Some("e3"),
            "the second `a`, not the first"
        );
        assert!(p.playing);
        assert_eq!(p.position_at(4_500), 500);
        assert_eq!(p.order, order);
        let gone = p.apply(&SyncAction::Jump("e99".into()), &ME, 5_000, |_| true);
        assert_eq!(gone.unwrap_err().reason, "unknown_entry");
        assert_eq!(p.current.as_deref(), Some("e3"));
    }

    #[test]
    fn next_walks_the_queue_and_stops_or_wraps_at_the_end() {
        let mut p = queued(&["a", "b"]);
        p.apply(&SyncAction::Next, &ME, 2_000, |_| true).unwrap();
        assert_eq!(song(&p), Some("b"));
        assert_eq!(p.position_at(2_000), 0);
        p.apply(&SyncAction::Next, &ME, 3_000, |_| true).unwrap();
        assert_eq!(song(&p), Some("b"));
        assert!(!p.playing);
        p.apply(&SyncAction::SetRepeat(RepeatMode::All), &ME, 3_000, |_| {
            true
        })
        .unwrap();
        p.apply(&SyncAction::Next, &ME, 3_000, |_| true).unwrap();
        assert_eq!(song(&p), Some("a"));
    }

    #[test]
    fn previous_restarts_after_three_seconds_and_goes_back_before() {
        let mut p = queued(&["a", "b"]);
        p.apply(&SyncAction::Next, &ME, 2_000, |_| true).unwrap();
        p.apply(&SyncAction::Previous, &ME, 10_000, |_| true)
            .unwrap();
        assert_eq!(song(&p), Some("b"));
        p.apply(&SyncAction::Previous, &ME, 11_000, |_| true)
            .unwrap();
        assert_eq!(song(&p), Some("a"));
    }

    #[test]
    fn play_with_a_song_inserts_it_after_the_current_entry() {
        let mut p = queued(&["a", "b"]);
        p.apply(&SyncAction::Play(Some("x".into())), &ME, 2_000, |_| true)
            .unwrap();
        let songs: Vec<&str> = p.queue.iter().map(|e| e.song_id.as_str()).collect();
        assert_eq!(songs, ["a", "x", "b"]);
        assert_eq!(song(&p), Some("x"));
    }

    #[test]
    fn commands_on_an_empty_queue_are_rejected() {
        let mut p = Player::new(0);
        for action in [
            SyncAction::Play(None),
            SyncAction::Next,
            SyncAction::Previous,
        ] {
            let err = p.apply(&action, &ME, 1, |_| true).unwrap_err();
            assert_eq!(err.reason, "empty_queue");
        }
        assert_eq!(p, Player::new(0));
    }

    #[test]
    fn shuffle_keeps_the_current_entry_first_and_visits_every_entry_once() {
        let mut p = queued(&["a", "b", "c", "d", "e"]);
        p.apply(&SyncAction::SetShuffle(true), &ME, 1_000, |_| true)
            .unwrap();
        assert_eq!(p.order.len(), 5);
        assert_eq!(p.order[0], p.current.clone().unwrap());
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..5 {
            seen.insert(song(&p).unwrap().to_string());
            p.apply(&SyncAction::Next, &ME, 1_000, |_| true).unwrap();
        }
        assert_eq!(seen.len(), 5);
        p.apply(&SyncAction::SetShuffle(false), &ME, 1_000, |_| true)
            .unwrap();
        assert!(p.order.is_empty());
    }

    #[test]
    fn transfer_moves_playback_to_an_own_device_only() {
        let mut p = queued(&["a"]);
        let to = |id: &str, keep| {
            SyncAction::Transfer(Transfer {
                to_device_id: id.into(),
                keep_playing: keep,
            })
        };
        let err = p
            .apply(&to("x", true), &ME, 2_000, |d| d == "d2")
            .unwrap_err();
        assert_eq!(err.reason, "unknown_device");
        p.apply(&to("d2", false), &ME, 2_000, |d| d == "d2")
            .unwrap();
        assert_eq!(p.active_device_id.as_deref(), Some("d2"));
        assert!(!p.playing);
        assert_eq!(p.position_at(9_000), 1_000);
        p.apply(&to("d1", true), &ME, 9_000, |_| true).unwrap();
        assert!(p.playing);
    }

    #[test]
    fn a_full_queue_takes_no_more() {
        let mut p = Player::new(0);
        p.queue = (0..MAX_QUEUE)
            .map(|i| Entry {
                entry_id: format!("e{i}"),
                song_id: "s".into(),
            })
            .collect();
        let add = SyncAction::AddToQueue(vec!["t".into()]);
        assert_eq!(
            p.apply(&add, &ME, 1, |_| true).unwrap_err().reason,
            "queue_full"
        );
    }
}
