//! The `activity` component (issue 8), end to end: the real `spin.toml` started in-process
//! against its own `redis-server`, with real accounts from `auth`, real songs uploaded to the
//! `catalog` as generated WAVs (10 s long unless said otherwise, so a play counts from 3,000 ms,
//! a completion from 8,000, a skip below 5,000 and nothing past 20,000), listens tracked over
//! HTTP, and the events it consumes (`track.published`, `track.deleted`, `user.deleted`) caused
//! through the catalog and auth, or published onto the real bus.
//!
//! The contract is /tmp/activity-spec.md (issue 8): the tracking rules (thresholds, a listen
//! counted once, invisible songs, rate limits), history, counts, trending, similar, for-you and
//! the admin rebuild, each answer holding only songs the caller may see.
//!
//! Every test starts its own app. Slow on purpose: `for_you_leaves_out_a_song_played_five_times_lately`
//! (a user's plays of one song count at most every 30 s, so five plays take two minutes).

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use spindle_shared::events::{Event, TrackDeleted, new_envelope};
use spindle_tests::accounts::{User, admin_delete_user, artist, listener, register_admin};
use spindle_tests::activity::{
    SONG_MS, WAIT, counts, delete_song, follow, for_you, get_ok, history, item_of, listen,
    listen_id, listen_of, my_stats, play, play_all, reasons, set_visible, similar, song, song_ids,
    song_stats, track, track_existing, track_new, track_raw, trending, upload, upload_many,
    wait_handled, wait_published, wait_track_deleted, wait_user_deleted, whole_history,
};
use spindle_tests::bus::EventBus;
use spindle_tests::media::assert_song_shape;
use spindle_tests::playlists::call_raw;
use spindle_tests::{
    TestApp, assert_invalid, assert_problem, eventually, object_keys, spawn_app_with, string_set,
};
use std::collections::BTreeSet;
use std::time::Duration;

const ADMIN_EMAIL: &str = "boss@example.com";
/// A well-formed id nobody has.
const UNKNOWN_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// An app whose `admin_emails` is [`ADMIN_EMAIL`].
async fn start() -> TestApp {
    spawn_app_with(&[("admin_emails", ADMIN_EMAIL)]).await
}

async fn admin(app: &TestApp) -> User {
    register_admin(app, ADMIN_EMAIL).await
}

/// The artist Ada and the listeners Lee and Mo, registered in that order.
async fn cast(app: &TestApp) -> (User, User, User) {
    let ada = artist(app, "Ada").await;
    let lee = listener(app, "Lee").await;
    let mo = listener(app, "Mo").await;
    (ada, lee, mo)
}

/// A new app ([`start`]) with its [`cast`]: (app, Ada, Lee, Mo).
async fn scene() -> (TestApp, User, User, User) {
    let app = start().await;
    let (ada, lee, mo) = cast(&app).await;
    (app, ada, lee, mo)
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn id_set(items: &[Value]) -> BTreeSet<String> {
    song_ids(items).into_iter().collect()
}

/// The `Retry-After` of a 429, in seconds (checked to be a whole number from 1 to `max`).
#[track_caller]
fn retry_after(response: &spindle_tests::TestResponse, max: u64, what: &str) -> u64 {
    assert_problem(response, 429, what);
    let value = response
        .header("retry-after")
        .unwrap_or_else(|| panic!("{what}: a 429 says Retry-After"));
    let seconds: u64 = value
        .parse()
        .unwrap_or_else(|_| panic!("{what}: Retry-After {value:?} is whole seconds"));
    assert!(
        (1..=max).contains(&seconds),
        "{what}: Retry-After {seconds}"
    );
    seconds
}

/// The reason of a for-you item as (kind, becauseOf or artistId).
fn for_you_reason(item: &Value) -> (String, Option<String>) {
    let reason = &item["reason"];
    let kind = reason["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("reason.kind: {item}"))
        .to_string();
    let detail = reason["becauseOf"]
        .as_str()
        .or_else(|| reason["artistId"].as_str())
        .map(String::from);
    (kind, detail)
}

// ---------------------------------------------------------------------------------------------
// Tracking rules
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_play_counts_only_from_three_seconds_of_listening() {
    let (app, ada, lee, mo) = scene().await;
    let s = upload(&app, &ada, song("Threshold")).await;

    let id = listen_id("lee");
    let early = track(&app, &lee, &s, "play", &id, 2_999).await;
    assert_invalid(&early, &["positionMs"], "a play at 2,999 ms");
    assert_eq!(counts(&song_stats(&app, None, &s).await), (0, 0, 0, 0));

    // The refused call made no listen: the same id now starts one.
    let listen = track_new(&app, &lee, &s, "play", &id, 3_000, "a play at 3,000 ms").await;
    assert_eq!(listen["listenId"], id.as_str());
    assert_eq!(listen["songId"], s.as_str());
    assert_eq!(listen["positionMs"], 3_000);
    assert_eq!(listen["deviceId"], Value::Null);
    assert_eq!(
        (
            &listen["played"],
            &listen["completed"],
            &listen["skipped"],
            &listen["counted"]
        ),
        (&json!(true), &json!(false), &json!(false), &json!(true)),
        "{listen}"
    );
    assert_eq!(counts(&song_stats(&app, None, &s).await), (1, 0, 0, 1));

    // With a device.
    let body = json!({ "listenId": "mo-phone-1", "positionMs": 4_500, "deviceId": "phone-1" });
    let response = track_raw(&app, mo.bearer(), &s, "play", body).await;
    let listen = listen_of(&response, 201, "a play with a device");
    assert_eq!(listen["deviceId"], "phone-1");
    assert_eq!(listen["positionMs"], 4_500);
    assert_eq!(counts(&song_stats(&app, None, &s).await), (2, 0, 0, 2));
}

#[tokio::test]
async fn a_completion_needs_80_percent_and_a_skip_less_than_half_of_the_song() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let (lee, mo, kim) = (
        listener(&app, "Lee").await,
        listener(&app, "Mo").await,
        listener(&app, "Kim").await,
    );
    let s = upload(&app, &ada, song("Ten seconds")).await;
    assert_eq!(SONG_MS, 10_000);

    let id = listen_id("lee");
    let early = track(&app, &lee, &s, "complete", &id, 7_999).await;
    assert_invalid(&early, &["positionMs"], "a completion at 79.99 %");
    let response = track(&app, &lee, &s, "complete", &id, 8_000).await;
    let done = listen_of(&response, 201, "a completion at 80 %");
    assert_eq!(done["completed"], true, "{done}");
    assert_eq!(done["skipped"], false, "{done}");

    let id = listen_id("mo");
    let late = track(&app, &mo, &s, "skip", &id, 5_000).await;
    assert_invalid(&late, &["positionMs"], "a skip at 50 %");
    let skipped = track_new(&app, &mo, &s, "skip", &id, 4_999, "a skip just under 50 %").await;
    assert_eq!(skipped["skipped"], true, "{skipped}");
    assert_eq!(skipped["completed"], false, "{skipped}");

    // A skip at 0 is a skip too.
    let gone = listen(&app, &kim, &s, "skip", 0).await;
    assert_eq!(gone["played"], false, "{gone}");

    // Two plays (the completion's and the late skip's), one completion, two skips.
    assert_eq!(counts(&song_stats(&app, None, &s).await), (2, 1, 2, 2));
}

#[tokio::test]
async fn a_position_more_than_ten_seconds_past_the_end_is_refused() {
    let (app, ada, lee, mo) = scene().await;
    let s = upload(&app, &ada, song("Short")).await;

    for kind in ["play", "complete"] {
        let response = track(&app, &lee, &s, kind, &listen_id("lee"), 20_001).await;
        assert_invalid(
            &response,
            &["positionMs"],
            &format!("a {kind} at 20,001 ms"),
        );
        let response = track(&app, &lee, &s, kind, &listen_id("lee"), 3_600_000).await;
        assert_invalid(&response, &["positionMs"], &format!("a {kind} an hour in"));
    }
    assert_eq!(counts(&song_stats(&app, None, &s).await), (0, 0, 0, 0));
    // Ten seconds of slack are allowed.
    let end = listen(&app, &lee, &s, "play", 20_000).await;
    assert_eq!(end["positionMs"], 20_000);
    let end = listen(&app, &mo, &s, "complete", 20_000).await;
    assert_eq!(end["completed"], true);
    assert_eq!(counts(&song_stats(&app, None, &s).await), (2, 1, 0, 2));
}

#[tokio::test]
async fn the_same_listen_id_again_counts_once() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let lee = listener(&app, "Lee").await;
    let s = upload(&app, &ada, song("Retry")).await;

    let id = listen_id("lee");
    let first = track_new(&app, &lee, &s, "play", &id, 3_000, "the play").await;
    assert_eq!(first["counted"], true);
    for _ in 0..3 {
        let again = track_existing(&app, &lee, &s, "play", &id, 3_000, "the play again").await;
        assert_eq!(again["counted"], false, "{again}");
        assert_eq!(again["listenId"], id.as_str());
        assert_eq!(again["startedAt"], first["startedAt"], "{again}");
        assert_eq!(again["played"], true);
    }
    assert_eq!(counts(&song_stats(&app, None, &s).await), (1, 0, 0, 1));

    // The same listen completing adds the completion, not another play; once.
    let response = track(&app, &lee, &s, "complete", &id, 9_000).await;
    let done = listen_of(&response, 200, "the completion of the listen");
    assert_eq!(done["counted"], true, "{done}");
    assert_eq!(done["completed"], true, "{done}");
    assert_eq!(done["positionMs"], 9_000, "{done}");
    let response = track(&app, &lee, &s, "complete", &id, 9_500).await;
    let again = listen_of(&response, 200, "the completion again");
    assert_eq!(again["counted"], false, "{again}");
    assert_eq!(counts(&song_stats(&app, None, &s).await), (1, 1, 0, 1));

    let mine = my_stats(&app, &lee).await;
    assert_eq!(
        (&mine["plays"], &mine["completions"]),
        (&json!(1), &json!(1))
    );
    let items = whole_history(&app, &lee, 10).await;
    assert_eq!(items.len(), 1, "one listen: {items:?}");
}

#[tokio::test]
async fn concurrent_retries_of_one_listen_count_once() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let lee = listener(&app, "Lee").await;
    let s = upload(&app, &ada, song("Flaky network")).await;

    let id = listen_id("lee");
    let calls = (0..8).map(|_| track(&app, &lee, &s, "play", &id, 3_000));
    let responses = join_all(calls).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "one new listen among {statuses:?}: {:?}",
        responses.iter().map(|r| r.text()).collect::<Vec<_>>()
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        7,
        "the others are retries: {statuses:?}: {:?}",
        responses.iter().map(|r| r.text()).collect::<Vec<_>>()
    );
    let counted: Vec<bool> = responses
        .iter()
        .map(|r| r.json::<Value>()["counted"].as_bool().unwrap())
        .collect();
    assert_eq!(counted.iter().filter(|c| **c).count(), 1, "{counted:?}");
    assert_eq!(counts(&song_stats(&app, None, &s).await), (1, 0, 0, 1));
    assert_eq!(whole_history(&app, &lee, 10).await.len(), 1);
}

#[tokio::test]
async fn a_listen_id_belongs_to_one_song() {
    let (app, ada, lee, mo) = scene().await;
    let a = upload(&app, &ada, song("First")).await;
    let b = upload(&app, &ada, song("Second")).await;

    let id = listen_id("shared");
    track_new(&app, &lee, &a, "play", &id, 3_000, "a").await;
    for kind in ["play", "complete", "skip"] {
        let position = if kind == "skip" { 1_000 } else { 9_000 };
        let response = track(&app, &lee, &b, kind, &id, position).await;
        assert_problem(&response, 409, &format!("{kind} of another song, same id"));
    }
    assert_eq!(counts(&song_stats(&app, None, &b).await), (0, 0, 0, 0));
    assert_eq!(counts(&song_stats(&app, None, &a).await), (1, 0, 0, 1));
    // Listen ids are the user's own: another user may use the same one.
    track_new(&app, &mo, &b, "play", &id, 3_000, "mo").await;
    assert_eq!(counts(&song_stats(&app, None, &b).await), (1, 0, 0, 1));
}

#[tokio::test]
async fn a_listen_is_either_completed_or_skipped() {
    let (app, ada, lee, mo) = scene().await;
    let s = upload(&app, &ada, song("Either")).await;

    let skipped = listen_id("lee");
    track_new(&app, &lee, &s, "skip", &skipped, 1_000, "skip").await;
    let response = track(&app, &lee, &s, "complete", &skipped, 9_000).await;
    assert_problem(&response, 409, "a completion after a skip");

    let completed = listen_id("mo");
    track_new(&app, &mo, &s, "complete", &completed, 9_000, "complete").await;
    let response = track(&app, &mo, &s, "skip", &completed, 1_000).await;
    assert_problem(&response, 409, "a skip after a completion");

    // Mo's completion counted its play; Lee's skip at 1 s counted only the skip.
    assert_eq!(counts(&song_stats(&app, None, &s).await), (1, 1, 1, 1));
    let item = &whole_history(&app, &lee, 10).await[0];
    assert_eq!(
        (&item["skipped"], &item["completed"]),
        (&json!(true), &json!(false))
    );
}

#[tokio::test]
async fn a_completion_without_a_play_counts_the_play_too() {
    let (app, ada, lee, mo) = scene().await;
    let s = upload(&app, &ada, song("Straight through")).await;

    let done = listen(&app, &lee, &s, "complete", 9_000).await;
    assert_eq!(
        (&done["played"], &done["completed"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(counts(&song_stats(&app, None, &s).await), (1, 1, 0, 1));
    let mine = my_stats(&app, &lee).await;
    assert_eq!(
        (&mine["plays"], &mine["completions"], &mine["skips"]),
        (&json!(1), &json!(1), &json!(0)),
        "{mine}"
    );

    // A play and then the completion of one listen: one play, one completion.
    let id = listen_id("mo");
    track_new(&app, &mo, &s, "play", &id, 3_000, "play").await;
    let done = track_existing(&app, &mo, &s, "complete", &id, 9_000, "complete").await;
    assert_eq!(done["counted"], true);
    assert_eq!(counts(&song_stats(&app, None, &s).await), (2, 2, 0, 2));
}

#[tokio::test]
async fn a_skip_at_one_second_counts_only_the_skip() {
    let (app, ada, lee, mo) = scene().await;
    let s = upload(&app, &ada, song("Not for me")).await;

    let skip = listen(&app, &lee, &s, "skip", 1_000).await;
    assert_eq!(
        (&skip["played"], &skip["skipped"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(counts(&song_stats(&app, None, &s).await), (0, 0, 1, 0));
    let mine = my_stats(&app, &lee).await;
    assert_eq!(
        (&mine["plays"], &mine["skips"]),
        (&json!(0), &json!(1)),
        "{mine}"
    );
    assert_eq!(mine["topSongs"], json!([]), "no plays, no top song: {mine}");

    // A skip after 3 s counts the play as well.
    let skip = listen(&app, &mo, &s, "skip", 4_000).await;
    assert_eq!(
        (&skip["played"], &skip["skipped"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(counts(&song_stats(&app, None, &s).await), (1, 0, 2, 1));
}

#[tokio::test]
async fn tracking_needs_a_token_and_a_well_formed_body() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let lee = listener(&app, "Lee").await;
    let s = upload(&app, &ada, song("Strict")).await;
    let path = format!("/api/songs/{s}/track/play");
    let good = json!({ "listenId": "l-1", "positionMs": 3_000 });

    let response = track_raw(&app, None, &s, "play", good.clone()).await;
    assert_problem(&response, 401, "no token");
    let response = track_raw(&app, Some("not-a-token"), &s, "play", good.clone()).await;
    assert_problem(&response, 401, "a bad token");

    let bytes = serde_json::to_vec(&good).unwrap();
    let response = call_raw(&app, lee.bearer(), Method::POST, &path, "text/plain", bytes).await;
    assert_problem(&response, 415, "not JSON");
    let big = json!({ "listenId": "l-1", "positionMs": 3_000, "deviceId": "x".repeat(70_000) });
    let bytes = serde_json::to_vec(&big).unwrap();
    let response = call_raw(
        &app,
        lee.bearer(),
        Method::POST,
        &path,
        "application/json",
        bytes,
    )
    .await;
    assert_problem(&response, 413, "past 64 KiB");
    let bytes = br#"{"listenId": "l-1", "positionMs": "#.to_vec();
    let response = call_raw(
        &app,
        lee.bearer(),
        Method::POST,
        &path,
        "application/json",
        bytes,
    )
    .await;
    assert_problem(&response, 400, "malformed JSON");

    let cases: Vec<(Value, &[&str], &str)> = vec![
        (
            json!({ "listenId": "l-1", "positionMs": 3_000, "volume": 11 }),
            &["volume"],
            "an unknown field",
        ),
        (json!({ "positionMs": 3_000 }), &["listenId"], "no listenId"),
        (
            json!({ "listenId": "l-1" }),
            &["positionMs"],
            "no positionMs",
        ),
        (json!({}), &["listenId", "positionMs"], "nothing"),
        (
            json!({ "listenId": "", "positionMs": 3_000 }),
            &["listenId"],
            "an empty listenId",
        ),
        (
            json!({ "listenId": "a b", "positionMs": 3_000 }),
            &["listenId"],
            "a space in listenId",
        ),
        (
            json!({ "listenId": "x".repeat(65), "positionMs": 3_000 }),
            &["listenId"],
            "a listenId of 65 characters",
        ),
        (
            json!({ "listenId": 7, "positionMs": 3_000 }),
            &["listenId"],
            "a number as listenId",
        ),
        (
            json!({ "listenId": "l-1", "positionMs": -1 }),
            &["positionMs"],
            "a negative position",
        ),
        (
            json!({ "listenId": "l-1", "positionMs": "3000" }),
            &["positionMs"],
            "a position as a string",
        ),
        (
            json!({ "listenId": "l-1", "positionMs": 3_000, "deviceId": "" }),
            &["deviceId"],
            "an empty deviceId",
        ),
        (
            json!({ "listenId": "l-1", "positionMs": 3_000, "deviceId": "d".repeat(65) }),
            &["deviceId"],
            "a deviceId of 65 characters",
        ),
    ];
    for (body, fields, what) in cases {
        let response = track_raw(&app, lee.bearer(), &s, "play", body).await;
        assert_invalid(&response, fields, what);
    }
    let response = track_raw(&app, lee.bearer(), &s, "pause", good.clone()).await;
    assert_problem(&response, 404, "a kind that is not play, complete or skip");

    assert_eq!(counts(&song_stats(&app, None, &s).await), (0, 0, 0, 0));
    // The longest listen id, of every allowed character, is fine.
    let longest = format!("{}aZ09._:-", "q".repeat(56));
    assert_eq!(longest.len(), 64);
    let body = json!({ "listenId": longest, "positionMs": 3_000 });
    let response = track_raw(&app, lee.bearer(), &s, "play", body).await;
    listen_of(&response, 201, "a listen id of 64 allowed characters");
}

// ---------------------------------------------------------------------------------------------
// Invisible songs
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn songs_the_caller_may_not_see_cannot_be_tracked() {
    let app = start().await;
    let boss = admin(&app).await;
    let ada = artist(&app, "Ada").await;
    let bo = artist(&app, "Bo").await;
    let lee = listener(&app, "Lee").await;
    let private = upload(&app, &ada, song("Demo").private()).await;
    let hidden = upload(&app, &ada, song("Taken down")).await;
    set_visible(&app, &boss, &hidden, false).await;

    for (song_id, what) in [
        (&private, "another artist's private song"),
        (&hidden, "a hidden song"),
        (&UNKNOWN_ID.to_string(), "an unknown song"),
    ] {
        for who in [&lee, &bo] {
            for (kind, at) in [("play", 3_000), ("complete", 9_000), ("skip", 1_000)] {
                let response = track(&app, who, song_id, kind, &listen_id("x"), at).await;
                assert_problem(&response, 404, &format!("{} {kind}s {what}", who.name));
            }
            let response = app
                .call(
                    who.bearer(),
                    Method::GET,
                    &format!("/api/songs/{song_id}/stats"),
                    None,
                )
                .await;
            assert_problem(
                &response,
                404,
                &format!("{} asks the stats of {what}", who.name),
            );
        }
        let response = app.get(&format!("/api/songs/{song_id}/stats")).await;
        assert_problem(&response, 404, &format!("anonymous stats of {what}"));
    }
    assert!(whole_history(&app, &lee, 10).await.is_empty());

    // The artist may listen to her own private and hidden songs, and see their counts.
    play(&app, &ada, &private).await;
    play(&app, &ada, &hidden).await;
    assert_eq!(
        counts(&song_stats(&app, ada.bearer(), &private).await),
        (1, 0, 0, 1)
    );
    assert_eq!(
        counts(&song_stats(&app, ada.bearer(), &hidden).await),
        (1, 0, 0, 1)
    );
}

#[tokio::test]
async fn invisible_songs_never_show_in_the_lists_of_others() {
    let app = start().await;
    let boss = admin(&app).await;
    let (ada, lee, mo) = cast(&app).await;
    let x = upload(&app, &ada, song("Open door").genre("Noir")).await;
    let y = upload(&app, &ada, song("Open window").genre("Noir")).await;
    let private = upload(&app, &ada, song("Closed door").genre("Noir").private()).await;
    let hidden = upload(&app, &ada, song("Locked door").genre("Noir")).await;

    // Ada plays X then her private song; Lee plays X, the soon-hidden song, Y.
    play_all(&app, &ada, &[&x, &private]).await;
    play_all(&app, &lee, &[&x, &hidden, &y]).await;
    set_visible(&app, &boss, &hidden, false).await;
    play(&app, &mo, &x).await;
    let invisible = set(&[&private, &hidden]);

    for (token, who) in [
        (None, "anonymous"),
        (lee.bearer(), "Lee"),
        (mo.bearer(), "Mo"),
    ] {
        let items = trending(&app, token, "limit=50").await;
        let found = id_set(&items);
        assert!(found.contains(&x) && found.contains(&y), "{who}: {found:?}");
        assert!(found.is_disjoint(&invisible), "{who} trending: {found:?}");
        let items = trending(&app, token, "genre=noir&limit=50").await;
        assert!(
            id_set(&items).is_disjoint(&invisible),
            "{who} noir: {items:?}"
        );

        let items = similar(&app, token, &x, "limit=50").await;
        let found = id_set(&items);
        assert!(found.contains(&y), "{who} similar: {found:?}");
        assert!(found.is_disjoint(&invisible), "{who} similar: {found:?}");

        let stats = get_ok(&app, token, &format!("/api/artists/{}/stats", ada.id)).await;
        let rows: BTreeSet<String> = stats["songs"]
            .as_array()
            .expect("songs")
            .iter()
            .map(|s| s["songId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(rows, set(&[&x, &y]), "{who} artist stats: {stats}");
        // X: Ada, Lee, Mo; Y: Lee. The private and hidden songs' plays are not in the sums.
        assert_eq!(stats["plays"], 4, "{who}: {stats}");
    }
    let (basis, items) = for_you(&app, &mo, "limit=50").await;
    assert_eq!(basis, "history");
    let found = id_set(&items);
    assert!(found.contains(&y), "Mo's for-you: {found:?}");
    assert!(found.is_disjoint(&invisible), "Mo's for-you: {found:?}");

    // Lee's history keeps the listen of the song now hidden, without the song.
    let mine = whole_history(&app, &lee, 10).await;
    assert_eq!(mine.len(), 3);
    let of_hidden = mine
        .iter()
        .find(|i| i["songId"] == hidden.as_str())
        .unwrap();
    assert_eq!(of_hidden["song"], Value::Null, "{of_hidden}");
    assert!(
        mine.iter()
            .filter(|i| i["songId"] != hidden.as_str())
            .all(|i| i["song"]["id"] == i["songId"]),
        "{mine:?}"
    );

    // The artist herself sees her private song's counts, in her stats and lists.
    let stats = get_ok(
        &app,
        ada.bearer(),
        &format!("/api/artists/{}/stats", ada.id),
    )
    .await;
    let rows = stats["songs"].as_array().unwrap();
    let own = rows.iter().find(|s| s["songId"] == private.as_str());
    assert_eq!(own.map(counts), Some((1, 0, 0, 1)), "{stats}");
    assert_eq!(stats["plays"], 6, "every song of hers: {stats}");
    assert!(id_set(&trending(&app, ada.bearer(), "limit=50").await).contains(&private));
    assert!(id_set(&similar(&app, ada.bearer(), &x, "limit=50").await).contains(&private));
}

// ---------------------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_song_played_again_within_30_seconds_is_429() {
    let (app, ada, lee, mo) = scene().await;
    let s = upload(&app, &ada, song("On repeat")).await;

    let first = listen_id("lee");
    track_new(&app, &lee, &s, "play", &first, 3_000, "play").await;
    for (kind, at) in [("play", 3_000), ("complete", 9_000), ("skip", 4_000)] {
        let response = track(&app, &lee, &s, kind, &listen_id("lee"), at).await;
        retry_after(&response, 30, &format!("a new {kind} at {at} within 30 s"));
    }
    // A skip before 3 s is no play: allowed. A retry of the counted listen is no new listen.
    listen(&app, &lee, &s, "skip", 1_000).await;
    track_existing(&app, &lee, &s, "play", &first, 3_000, "retry").await;
    // Another listener is not limited by Lee's plays.
    play(&app, &mo, &s).await;
    assert_eq!(counts(&song_stats(&app, None, &s).await), (2, 0, 1, 2));
}

#[tokio::test]
async fn concurrent_new_plays_of_one_song_by_one_user_count_once() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let lee = listener(&app, "Lee").await;
    let s = upload(&app, &ada, song("Hammered")).await;

    let ids: Vec<String> = (0..8).map(|_| listen_id("lee")).collect();
    let calls = ids
        .iter()
        .map(|id| track(&app, &lee, &s, "play", id, 3_000));
    let responses = join_all(calls).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "one play counts: {statuses:?}"
    );
    for response in responses.iter().filter(|r| r.status != 201) {
        retry_after(response, 30, "the other new plays within 30 s");
    }
    assert_eq!(counts(&song_stats(&app, None, &s).await), (1, 0, 0, 1));
    assert_eq!(whole_history(&app, &lee, 10).await.len(), 1);
}

#[tokio::test]
async fn a_skipped_listen_played_later_is_no_way_around_the_30_second_limit() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let lee = listener(&app, "Lee").await;
    let s = upload(&app, &ada, song("Loophole")).await;

    play(&app, &lee, &s).await;
    // A skip at 1 s is allowed (no play) ...
    let second = listen_id("lee");
    track_new(&app, &lee, &s, "skip", &second, 1_000, "skip").await;
    // ... but that listen must not become a second play of the song within 30 s.
    let response = track(&app, &lee, &s, "play", &second, 5_000).await;
    assert!(
        [429, 409, 200].contains(&response.status),
        "{}: {}",
        response.status,
        response.text()
    );
    let (plays, ..) = counts(&song_stats(&app, None, &s).await);
    assert_eq!(
        plays,
        1,
        "a play of one song by one user counts at most every 30 s (answer {}: {})",
        response.status,
        response.text()
    );
}

#[tokio::test]
async fn more_than_30_new_listens_in_a_minute_is_429() {
    let (app, ada, lee, mo) = scene().await;
    let mut songs = Vec::new();
    for i in 0..32 {
        songs.push(upload(&app, &ada, song(&format!("Short {i}")).ms(1_000)).await);
    }

    let first = listen_id("lee");
    track_new(&app, &lee, &songs[0], "play", &first, 3_000, "1st").await;
    for song_id in &songs[1..30] {
        play(&app, &lee, song_id).await;
    }
    let response = track(&app, &lee, &songs[30], "play", &listen_id("lee"), 3_000).await;
    retry_after(&response, 60, "the 31st new listen within a minute");
    // Any new listen counts, a skip too; a retry of a listen is not a new one.
    let response = track(&app, &lee, &songs[31], "skip", &listen_id("lee"), 100).await;
    retry_after(&response, 60, "a 31st listen that is a skip");
    track_existing(&app, &lee, &songs[0], "play", &first, 3_000, "retry").await;
    assert_eq!(
        counts(&song_stats(&app, None, &songs[30]).await),
        (0, 0, 0, 0)
    );
    assert_eq!(
        counts(&song_stats(&app, None, &songs[31]).await),
        (0, 0, 0, 0)
    );
    let mine = my_stats(&app, &lee).await;
    assert_eq!(mine["plays"], 30, "{mine}");
    // The limit is per user.
    play(&app, &mo, &songs[30]).await;
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn history_is_newest_first_and_its_pages_have_no_gaps_or_duplicates() {
    let (app, ada, lee, mo) = scene().await;
    let songs = upload_many(&app, &ada, "Track", 7, None).await;

    let mut listens = Vec::new();
    for song_id in &songs {
        listens.push(play(&app, &lee, song_id).await["listenId"].clone());
    }
    play(&app, &mo, &songs[0]).await;
    play(&app, &mo, &songs[1]).await;
    // Completing the first listen later does not move it.
    let done = track(
        &app,
        &lee,
        &songs[0],
        "complete",
        listens[0].as_str().unwrap(),
        9_000,
    )
    .await;
    listen_of(&done, 200, "complete the first listen");

    let newest_first: Vec<Value> = listens.iter().rev().cloned().collect();
    for limit in [1, 3, 7, 100] {
        let items = whole_history(&app, &lee, limit).await;
        let ids: Vec<Value> = items.iter().map(|i| i["listenId"].clone()).collect();
        assert_eq!(ids, newest_first, "pages of {limit}");
        assert!(
            items.iter().all(|i| i["song"]["id"] == i["songId"]),
            "each with its song: {items:?}"
        );
    }
    let page = history(&app, &lee, "").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 7);
    assert_eq!(page["nextCursor"], Value::Null);
    let oldest = &page["items"][6];
    assert_eq!(
        (&oldest["completed"], &oldest["positionMs"]),
        (&json!(true), &json!(9_000)),
        "{oldest}"
    );
    let page = history(&app, &lee, "limit=3").await;
    assert!(page["nextCursor"].is_string(), "{page}");

    // Mo sees only his two.
    let his = whole_history(&app, &mo, 10).await;
    assert_eq!(his.len(), 2);
    assert!(
        his.iter().all(|i| !listens.contains(&i["listenId"])),
        "{his:?}"
    );

    for (query, fields) in [
        ("limit=0", &["limit"][..]),
        ("limit=101", &["limit"]),
        ("limit=ten", &["limit"]),
        ("limit=-1", &["limit"]),
        ("cursor=nonsense", &["cursor"]),
        ("cursor=12.x", &["cursor"]),
        ("limit=0&cursor=nonsense", &["limit", "cursor"]),
    ] {
        let response = app
            .call(
                lee.bearer(),
                Method::GET,
                &format!("/api/me/history?{query}"),
                None,
            )
            .await;
        assert_invalid(&response, fields, query);
    }
    assert_problem(
        &app.get("/api/me/history").await,
        401,
        "history without a token",
    );
}

// ---------------------------------------------------------------------------------------------
// Counts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn song_stats_count_plays_completions_skips_and_distinct_listeners() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let (lee, mo, kim, jo) = (
        listener(&app, "Lee").await,
        listener(&app, "Mo").await,
        listener(&app, "Kim").await,
        listener(&app, "Jo").await,
    );
    let s = upload(&app, &ada, song("Counted")).await;
    let other = upload(&app, &ada, song("Untouched")).await;

    listen(&app, &lee, &s, "complete", 9_000).await;
    play(&app, &mo, &s).await;
    listen(&app, &kim, &s, "skip", 1_000).await;
    listen(&app, &jo, &s, "skip", 4_000).await;
    // Lee again (a skip at 1 s is no play, so not limited): no new listener.
    listen(&app, &lee, &s, "skip", 500).await;

    let stats = song_stats(&app, None, &s).await;
    assert_eq!(counts(&stats), (3, 1, 3, 3), "{stats}");
    assert_eq!(song_stats(&app, kim.bearer(), &s).await, stats);
    assert_eq!(counts(&song_stats(&app, None, &other).await), (0, 0, 0, 0));
}

#[tokio::test]
async fn my_stats_total_my_listens_with_top_songs_and_artists() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let bo = artist(&app, "Bo").await;
    let (lee, mo) = (listener(&app, "Lee").await, listener(&app, "Mo").await);
    let a1 = upload(&app, &ada, song("A1")).await;
    let a2 = upload(&app, &ada, song("A2")).await;
    let b1 = upload(&app, &bo, song("B1")).await;
    let b2 = upload(&app, &bo, song("B2")).await;

    let empty = my_stats(&app, &lee).await;
    assert_eq!(
        empty,
        json!({ "plays": 0, "completions": 0, "skips": 0, "songs": 0, "topSongs": [], "topArtists": [] })
    );

    let id = listen_id("lee");
    track_new(&app, &lee, &a1, "play", &id, 3_000, "a1").await;
    track_existing(&app, &lee, &a1, "complete", &id, 9_000, "a1 done").await;
    play(&app, &lee, &a2).await;
    play(&app, &lee, &b2).await;
    listen(&app, &lee, &b1, "skip", 1_000).await;
    // Mo's listens are not Lee's.
    play_all(&app, &mo, &[&a1, &b1, &b2]).await;

    let mine = my_stats(&app, &lee).await;
    assert_eq!(
        object_keys(&mine),
        string_set(&[
            "plays",
            "completions",
            "skips",
            "songs",
            "topSongs",
            "topArtists"
        ])
    );
    assert_eq!(
        (
            &mine["plays"],
            &mine["completions"],
            &mine["skips"],
            &mine["songs"]
        ),
        (&json!(3), &json!(1), &json!(1), &json!(4)),
        "{mine}"
    );
    let top: BTreeSet<(String, u64)> = mine["topSongs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["songId"].as_str().unwrap().to_string(),
                s["plays"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, u64)> =
        [(a1.clone(), 1), (a2.clone(), 1), (b2.clone(), 1)].into();
    assert_eq!(top, expected, "songs with plays only: {mine}");
    assert_eq!(
        mine["topArtists"],
        json!([{ "artistId": ada.id, "plays": 2 }, { "artistId": bo.id, "plays": 1 }]),
        "{mine}"
    );
    assert_problem(
        &app.get("/api/me/stats").await,
        401,
        "stats without a token",
    );
}

#[tokio::test]
async fn artist_stats_sum_the_counts_of_their_songs() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let bo = artist(&app, "Bo").await;
    let (lee, mo) = (listener(&app, "Lee").await, listener(&app, "Mo").await);
    let a1 = upload(&app, &ada, song("A1")).await;
    let a2 = upload(&app, &ada, song("A2")).await;
    let a3 = upload(&app, &ada, song("A3 (nobody heard)")).await;
    let b1 = upload(&app, &bo, song("B1")).await;
    wait_published(&app, &a3).await;

    play(&app, &lee, &a1).await;
    listen(&app, &lee, &a2, "complete", 9_000).await;
    play(&app, &mo, &a1).await;
    listen(&app, &mo, &a2, "skip", 1_000).await;
    play(&app, &mo, &b1).await;

    let stats = get_ok(&app, None, &format!("/api/artists/{}/stats", ada.id)).await;
    assert_eq!(
        object_keys(&stats),
        string_set(&[
            "artistId",
            "plays",
            "completions",
            "skips",
            "listeners",
            "songs"
        ])
    );
    assert_eq!(stats["artistId"], ada.id.as_str());
    assert_eq!(counts(&stats), (3, 1, 1, 2), "{stats}");
    let rows: Vec<(String, (u64, u64, u64, u64))> = stats["songs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["songId"].as_str().unwrap().to_string(), counts(s)))
        .collect();
    let rows: std::collections::BTreeMap<_, _> = rows.into_iter().collect();
    assert_eq!(rows.len(), 3, "{stats}");
    assert_eq!(rows[&a1], (2, 0, 0, 2));
    assert_eq!(rows[&a2], (1, 1, 1, 1));
    assert_eq!(rows[&a3], (0, 0, 0, 0));

    let theirs = get_ok(&app, lee.bearer(), &format!("/api/artists/{}/stats", bo.id)).await;
    assert_eq!(counts(&theirs), (1, 0, 0, 1), "{theirs}");
    assert_eq!(theirs["songs"].as_array().unwrap().len(), 1, "{theirs}");
}

// ---------------------------------------------------------------------------------------------
// Trending
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn trending_ranks_plays_and_completions_up_and_skips_down() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let users = [
        listener(&app, "U1").await,
        listener(&app, "U2").await,
        listener(&app, "U3").await,
        listener(&app, "U4").await,
    ];
    let a = upload(&app, &ada, song("Completed thrice")).await;
    let b = upload(&app, &ada, song("Played thrice")).await;
    let e = upload(&app, &ada, song("Played thrice, skipped once")).await;
    let c = upload(&app, &ada, song("Played once")).await;
    let d = upload(&app, &ada, song("Only skipped")).await;

    for u in &users[..3] {
        listen(&app, u, &a, "complete", 9_000).await;
        play(&app, u, &b).await;
        play(&app, u, &e).await;
    }
    play(&app, &users[0], &c).await;
    listen(&app, &users[3], &e, "skip", 1_000).await;
    listen(&app, &users[3], &d, "skip", 1_000).await;

    let items = trending(&app, None, "").await;
    assert_eq!(
        song_ids(&items),
        vec![a.clone(), b.clone(), e.clone(), c.clone()]
    );
    // play +1, complete +1, skip −1 (decay over a few seconds is negligible).
    for (item, score) in items.iter().zip([6.0, 3.0, 2.0, 1.0]) {
        let got = item["score"].as_f64().unwrap();
        assert!((got - score).abs() < 0.01, "{score} expected: {item}");
    }
    let listener_view = trending(&app, users[0].bearer(), "").await;
    assert_eq!(song_ids(&listener_view), song_ids(&items));
}

#[tokio::test]
async fn trending_filters_by_genre_without_regard_to_case() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let lee = listener(&app, "Lee").await;
    let j1 = upload(&app, &ada, song("Blue").genre("Jazz")).await;
    let j2 = upload(&app, &ada, song("Green").genre("jazz")).await;
    let r1 = upload(&app, &ada, song("Loud").genre("ROCK")).await;
    let none = upload(&app, &ada, song("Unsorted")).await;
    play_all(&app, &lee, &[&j1, &j2, &r1, &none]).await;

    for query in ["genre=jazz", "genre=JAZZ", "genre=Jazz", "genre=%20jazz%20"] {
        let items = trending(&app, None, query).await;
        assert_eq!(id_set(&items), set(&[&j1, &j2]), "{query}");
    }
    let body = get_ok(&app, None, "/api/songs/trending?genre=JaZz").await;
    assert_eq!(body["genre"], "jazz", "{body}");
    assert_eq!(
        id_set(&trending(&app, None, "genre=rock").await),
        set(&[&r1])
    );
    assert!(trending(&app, None, "genre=polka").await.is_empty());
    assert_eq!(
        id_set(&trending(&app, None, "").await),
        set(&[&j1, &j2, &r1, &none])
    );
}

#[tokio::test]
async fn trending_and_similar_check_their_limit() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let lee = listener(&app, "Lee").await;
    let songs = upload_many(&app, &ada, "Song", 3, Some("pop")).await;
    play_all(&app, &lee, &[&songs[0], &songs[1], &songs[2]]).await;

    for bad in ["0", "51", "-1", "ten", ""] {
        let path = format!("/api/songs/trending?limit={bad}");
        assert_invalid(&app.get(&path).await, &["limit"], &path);
        let path = format!("/api/songs/{}/similar?limit={bad}", songs[0]);
        assert_invalid(&app.get(&path).await, &["limit"], &path);
        let path = format!("/api/songs/recommendations/for-you?limit={bad}");
        let response = app.call(lee.bearer(), Method::GET, &path, None).await;
        assert_invalid(&response, &["limit"], &path);
    }
    assert_eq!(trending(&app, None, "limit=1").await.len(), 1);
    assert_eq!(trending(&app, None, "limit=50").await.len(), 3);
    assert_eq!(similar(&app, None, &songs[0], "limit=1").await.len(), 1);
    assert_eq!(similar(&app, None, &songs[0], "limit=50").await.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Similar
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn similar_answers_its_song_id_and_items_with_a_list_of_reasons() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let a = upload(&app, &ada, song("One").genre("folk")).await;
    let b = upload(&app, &ada, song("Two").genre("folk")).await;
    wait_published(&app, &b).await;

    let body = get_ok(&app, None, &format!("/api/songs/{a}/similar")).await;
    assert_eq!(
        object_keys(&body),
        string_set(&["songId", "items"]),
        "{body}"
    );
    assert_eq!(body["songId"], a.as_str());
    let items = body["items"].as_array().unwrap();
    assert_eq!(song_ids(items), vec![b.clone()]);
    assert_eq!(
        object_keys(&items[0]),
        string_set(&["song", "score", "reason"]),
        "the spec's {{song, score, reason:[..]}}: {}",
        items[0]
    );
    assert_eq!(items[0]["reason"], json!(["same_artist", "same_genre"]));
}

#[tokio::test]
async fn songs_listened_together_are_each_others_most_similar() {
    let app = start().await;
    let (ada, bo, cy) = (
        artist(&app, "Ada").await,
        artist(&app, "Bo").await,
        artist(&app, "Cy").await,
    );
    let a = upload(&app, &ada, song("Here")).await;
    let b = upload(&app, &bo, song("There")).await;
    let c = upload(&app, &cy, song("Elsewhere")).await;
    for name in ["U1", "U2", "U3", "U4"] {
        let u = listener(&app, name).await;
        play_all(&app, &u, &[&a, &b]).await;
    }
    let u5 = listener(&app, "U5").await;
    play_all(&app, &u5, &[&a, &c]).await;

    let of_a = similar(&app, None, &a, "").await;
    assert_eq!(song_ids(&of_a)[..2], [b.clone(), c.clone()], "{of_a:?}");
    assert!(
        reasons(&of_a[0]).contains(&"listened_together".to_string()),
        "{of_a:?}"
    );
    assert!(
        reasons(&of_a[1]).contains(&"listened_together".to_string()),
        "{of_a:?}"
    );
    assert!(!song_ids(&of_a).contains(&a), "the seed itself: {of_a:?}");

    let of_b = similar(&app, u5.bearer(), &b, "").await;
    assert_eq!(song_ids(&of_b)[0], a, "{of_b:?}");
    assert!(reasons(&of_b[0]).contains(&"listened_together".to_string()));
    assert!(!song_ids(&of_b).contains(&b), "the seed itself: {of_b:?}");

    assert_problem(
        &app.get(&format!("/api/songs/{UNKNOWN_ID}/similar")).await,
        404,
        "similar of an unknown song",
    );
}

#[tokio::test]
async fn a_new_song_without_listens_gets_same_artist_genre_and_tag_neighbours() {
    let app = start().await;
    let (ada, bo, cy) = (
        artist(&app, "Ada").await,
        artist(&app, "Bo").await,
        artist(&app, "Cy").await,
    );
    let n1 = upload(&app, &ada, song("Dawn").genre("Ambient").tags("calm,night")).await;
    let n2 = upload(&app, &ada, song("Dusk").genre("Ambient")).await;
    let g1 = upload(&app, &bo, song("Drift").genre("AMBIENT")).await;
    let t1 = upload(&app, &bo, song("Hush").genre("Rock").tags("calm")).await;
    let o1 = upload(&app, &cy, song("Noise").genre("Rock")).await;
    let private = upload(&app, &cy, song("Secret").genre("Ambient").private()).await;
    for id in [&n1, &n2, &g1, &t1, &o1] {
        wait_published(&app, id).await;
    }
    let new = upload(&app, &ada, song("Brand new").genre("ambient").tags("calm")).await;

    let items = similar(&app, None, &new, "").await;
    let ids = song_ids(&items);
    assert!(!ids.contains(&new), "the seed itself: {items:?}");
    assert!(!ids.contains(&o1), "nothing in common: {items:?}");
    assert!(!ids.contains(&private), "another's private song: {items:?}");
    assert_eq!(ids[..3], [n1.clone(), n2.clone(), g1.clone()], "{items:?}");
    let why = |id: &str| -> BTreeSet<String> {
        reasons(item_of(&items, id).unwrap()).into_iter().collect()
    };
    assert_eq!(
        why(&n1),
        string_set(&["same_artist", "same_genre", "shared_tags"])
    );
    assert_eq!(why(&n2), string_set(&["same_artist", "same_genre"]));
    assert_eq!(why(&g1), string_set(&["same_genre"]));
    assert!(
        ids.contains(&t1),
        "a song sharing only a tag is a neighbour too (spec: same-artist / same-genre / \
         shared-tag neighbours): {items:?}"
    );
    assert_eq!(why(&t1), string_set(&["shared_tags"]));

    let response = app.get(&format!("/api/songs/{private}/similar")).await;
    assert_problem(&response, 404, "similar of another's private song");
}

// ---------------------------------------------------------------------------------------------
// For you
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn for_you_follows_co_listening_and_leaves_out_what_the_user_skips() {
    let app = start().await;
    let (ada, bo, cy) = (
        artist(&app, "Ada").await,
        artist(&app, "Bo").await,
        artist(&app, "Cy").await,
    );
    let s = upload(&app, &ada, song("Seed")).await;
    let t = upload(&app, &bo, song("Companion")).await;
    let k = upload(&app, &cy, song("Skipped")).await;
    for name in ["O1", "O2", "O3"] {
        let o = listener(&app, name).await;
        play_all(&app, &o, &[&s, &t]).await;
    }
    for name in ["O4", "O5"] {
        let o = listener(&app, name).await;
        play_all(&app, &o, &[&s, &k]).await;
    }
    let u = listener(&app, "U").await;
    play(&app, &u, &s).await;
    listen(&app, &u, &k, "skip", 1_000).await;

    let (basis, items) = for_you(&app, &u, "limit=50").await;
    assert_eq!(basis, "history");
    let item = item_of(&items, &t).unwrap_or_else(|| panic!("T is for U: {items:?}"));
    assert_eq!(
        for_you_reason(item),
        ("similar".to_string(), Some(s.clone())),
        "{item}"
    );
    assert!(
        item_of(&items, &k).is_none(),
        "skipped more than played: {items:?}"
    );
    assert_problem(
        &app.get("/api/songs/recommendations/for-you").await,
        401,
        "for-you without a token",
    );
}

/// `user` plays `song_id` on a new listen, waiting out the 30 s between two plays of one song.
async fn play_when_allowed(app: &TestApp, user: &User, song_id: &str) {
    for _ in 0..5 {
        let response = track(app, user, song_id, "play", &listen_id(&user.name), 3_000).await;
        if response.status == 429 {
            let wait = retry_after(&response, 30, "the next play of the song");
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        listen_of(&response, 201, "a play once allowed");
        return;
    }
    panic!("the play of {song_id} stayed refused");
}

#[tokio::test]
async fn for_you_leaves_out_a_song_played_five_times_lately() {
    // Five counted plays of one song by one user are at least 4 × 30 s apart: about two
    // minutes of waiting, the least that shows the rule.
    let app = start().await;
    let (ada, bo) = (artist(&app, "Ada").await, artist(&app, "Bo").await);
    let s = upload(&app, &ada, song("Seed")).await;
    let r = upload(&app, &bo, song("Favourite")).await;
    for name in ["O1", "O2"] {
        let o = listener(&app, name).await;
        play_all(&app, &o, &[&s, &r]).await;
    }
    let u = listener(&app, "U").await;
    play(&app, &u, &s).await;
    for n in 1..=5 {
        play_when_allowed(&app, &u, &r).await;
        let (_, items) = for_you(&app, &u, "limit=50").await;
        if n < 5 {
            assert!(
                item_of(&items, &r).is_some(),
                "played {n} times: still for U: {items:?}"
            );
        } else {
            assert!(
                item_of(&items, &r).is_none(),
                "played 5 times lately: {items:?}"
            );
        }
    }
    let mine = my_stats(&app, &u).await;
    assert_eq!(mine["plays"], 6, "{mine}");
}

#[tokio::test]
async fn for_you_holds_at_most_three_songs_of_one_artist() {
    let app = start().await;
    let (ada, bo, cy) = (
        artist(&app, "Ada").await,
        artist(&app, "Bo").await,
        artist(&app, "Cy").await,
    );
    let s = upload(&app, &cy, song("Seed")).await;
    let a = upload_many(&app, &ada, "Prolific", 5, None).await;
    let b = upload_many(&app, &bo, "Modest", 2, None).await;
    let o1 = listener(&app, "O1").await;
    play(&app, &o1, &s).await;
    play_all(&app, &o1, &a.iter().collect::<Vec<_>>()).await;
    let o2 = listener(&app, "O2").await;
    play_all(&app, &o2, &[&s, &b[0], &b[1]]).await;

    let u = listener(&app, "U").await;
    play(&app, &u, &s).await;
    let (basis, items) = for_you(&app, &u, "limit=50").await;
    assert_eq!(basis, "history");
    let of = |artist: &User| {
        items
            .iter()
            .filter(|i| i["song"]["artistId"] == artist.id.as_str())
            .count()
    };
    assert_eq!(
        of(&ada),
        3,
        "three of Ada's five co-listened songs: {items:?}"
    );
    assert_eq!(of(&bo), 2, "{items:?}");
}

#[tokio::test]
async fn a_new_user_gets_trending_songs_of_the_genres_they_chose() {
    let app = start().await;
    let (ada, bo) = (artist(&app, "Ada").await, artist(&app, "Bo").await);
    let j = [
        upload(&app, &ada, song("Blue").genre("Jazz")).await,
        upload(&app, &ada, song("Green").genre("Jazz")).await,
        upload(&app, &bo, song("Red").genre("jazz")).await,
    ];
    let r = [
        upload(&app, &bo, song("Loud").genre("Rock")).await,
        upload(&app, &bo, song("Louder").genre("Rock")).await,
    ];
    let o = listener(&app, "O").await;
    play_all(&app, &o, &[&j[0], &j[1], &j[2], &r[0], &r[1]]).await;

    let nu = listener(&app, "Nu").await;
    assert_eq!(
        get_ok(&app, nu.bearer(), "/api/me/taste").await,
        json!({ "genres": [] })
    );
    let response = app
        .send_as(
            &nu.token,
            Method::PUT,
            "/api/me/taste",
            Some(json!({ "genres": ["JAZZ"] })),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json::<Value>(), json!({ "genres": ["jazz"] }));
    assert_eq!(
        get_ok(&app, nu.bearer(), "/api/me/taste").await,
        json!({ "genres": ["jazz"] })
    );
    let (basis, items) = for_you(&app, &nu, "limit=50").await;
    assert_eq!(basis, "taste");
    assert_eq!(id_set(&items), set(&[&j[0], &j[1], &j[2]]), "{items:?}");

    let plain = listener(&app, "Plain").await;
    let (basis, items) = for_you(&app, &plain, "limit=50").await;
    assert_eq!(basis, "trending");
    assert_eq!(
        id_set(&items),
        set(&[&j[0], &j[1], &j[2], &r[0], &r[1]]),
        "{items:?}"
    );
}

#[tokio::test]
async fn taste_is_validated() {
    let app = start().await;
    let lee = listener(&app, "Lee").await;
    let put = |body: Value| app.send_as(&lee.token, Method::PUT, "/api/me/taste", Some(body));

    let eleven: Vec<String> = (0..11).map(|i| format!("genre {i}")).collect();
    let cases: Vec<(Value, &[&str], &str)> = vec![
        (json!({ "genres": eleven }), &["genres"], "eleven genres"),
        (json!({ "genres": [""] }), &["genres"], "an empty genre"),
        (json!({ "genres": ["   "] }), &["genres"], "a blank genre"),
        (
            json!({ "genres": ["g".repeat(65)] }),
            &["genres"],
            "a genre of 65 characters",
        ),
        (json!({ "genres": "jazz" }), &["genres"], "not a list"),
        (json!({ "genres": [3] }), &["genres"], "not strings"),
        (json!({}), &["genres"], "no genres"),
        (
            json!({ "genres": [], "mood": "happy" }),
            &["mood"],
            "an unknown field",
        ),
    ];
    for (body, fields, what) in cases {
        assert_invalid(&put(body).await, fields, what);
    }
    assert_eq!(
        get_ok(&app, lee.bearer(), "/api/me/taste").await,
        json!({ "genres": [] })
    );

    let ten: Vec<String> = (0..10).map(|i| format!("{i}{}", "g".repeat(63))).collect();
    let response = put(json!({ "genres": ten })).await;
    assert_eq!(
        response.status,
        200,
        "ten genres of 64 characters: {}",
        response.text()
    );
    let response = put(json!({ "genres": [] })).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        get_ok(&app, lee.bearer(), "/api/me/taste").await,
        json!({ "genres": [] })
    );

    let response = app
        .put_json("/api/me/taste", &json!({ "genres": [] }))
        .await;
    assert_problem(&response, 401, "taste without a token");
    assert_problem(
        &app.get("/api/me/taste").await,
        401,
        "taste without a token",
    );
}

#[tokio::test]
async fn a_new_release_of_a_followed_artist_shows_up_for_you() {
    let app = start().await;
    let (fa, bo) = (artist(&app, "Fa").await, artist(&app, "Bo").await);
    let old = upload(&app, &fa, song("Old hit")).await;
    let s = upload(&app, &bo, song("Everyday")).await;
    let t = upload(&app, &bo, song("Everyday too")).await;
    let o = listener(&app, "O").await;
    play_all(&app, &o, &[&s, &t]).await;

    let (u, v) = (listener(&app, "U").await, listener(&app, "V").await);
    play_all(&app, &u, &[&s, &old]).await;
    play(&app, &v, &s).await;
    follow(&app, &u, &fa.id).await;
    let fresh = upload(&app, &fa, song("Fresh")).await;
    wait_published(&app, &fresh).await;

    let (_, items) = for_you(&app, &u, "limit=50").await;
    let at = items
        .iter()
        .position(|i| i["song"]["id"] == fresh.as_str())
        .unwrap_or_else(|| panic!("the new release is for its follower: {items:?}"));
    assert!(at <= 1, "near the top: {items:?}");
    assert_eq!(
        for_you_reason(&items[at]),
        ("new_release".to_string(), Some(fa.id.clone()))
    );
    assert!(
        item_of(&items, &old).is_none_or(|i| for_you_reason(i).0 != "new_release"),
        "a song the follower heard is no new release for them: {items:?}"
    );
    let (_, theirs) = for_you(&app, &v, "limit=50").await;
    assert!(
        item_of(&theirs, &fresh).is_none(),
        "not a follower, nobody listened: {theirs:?}"
    );
}

#[tokio::test]
async fn for_you_changes_as_soon_as_the_user_listens() {
    let app = start().await;
    let (ada, bo) = (artist(&app, "Ada").await, artist(&app, "Bo").await);
    let s1 = upload(&app, &ada, song("First seed")).await;
    let t1 = upload(&app, &bo, song("First find")).await;
    let s2 = upload(&app, &ada, song("Second seed")).await;
    let t2 = upload(&app, &bo, song("Second find")).await;
    let o1 = listener(&app, "O1").await;
    play_all(&app, &o1, &[&s1, &t1]).await;
    let o2 = listener(&app, "O2").await;
    play_all(&app, &o2, &[&s2, &t2]).await;

    let u = listener(&app, "U").await;
    let (basis, _) = for_you(&app, &u, "").await;
    assert_eq!(basis, "trending", "no listens, no taste");

    play(&app, &u, &s1).await;
    let (basis, items) = for_you(&app, &u, "limit=50").await;
    assert_eq!(basis, "history", "the cached list was dropped");
    let first = item_of(&items, &t1).unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(for_you_reason(first), ("similar".into(), Some(s1.clone())));
    assert!(
        item_of(&items, &t2).is_none_or(|i| for_you_reason(i).0 != "similar"),
        "{items:?}"
    );

    play(&app, &u, &s2).await;
    let (_, items) = for_you(&app, &u, "limit=50").await;
    let second = item_of(&items, &t2).unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(for_you_reason(second), ("similar".into(), Some(s2.clone())));
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn song_routes_reach_the_catalog_or_activity_as_they_should() {
    let app = start().await;
    let ada = artist(&app, "Ada").await;
    let lee = listener(&app, "Lee").await;
    let s = upload(&app, &ada, song("Routed").genre("pop")).await;
    play(&app, &lee, &s).await;

    // The catalog's.
    let one = get_ok(&app, None, &format!("/api/songs/{s}")).await;
    assert_song_shape(&one);
    assert_eq!(one["id"], s.as_str());
    let listed = get_ok(&app, None, "/api/songs").await;
    assert_eq!(song_ids_of_catalog(&listed), vec![s.clone()]);
    let mine = get_ok(&app, ada.bearer(), "/api/songs/artist/my-songs").await;
    assert!(mine.to_string().contains(&s), "{mine}");
    let batch = app
        .post_json("/api/songs/batch", &json!({ "ids": [s] }))
        .await;
    assert_eq!(batch.status, 200, "{}", batch.text());
    let profile = get_ok(&app, None, &format!("/api/artists/{}", ada.id)).await;
    assert!(profile.to_string().contains(&s), "{profile}");
    let following = get_ok(&app, lee.bearer(), "/api/me/following").await;
    assert_eq!(following["items"], json!([]));

    // Activity's.
    let body = get_ok(&app, None, "/api/songs/trending").await;
    assert_eq!(
        object_keys(&body),
        string_set(&["genre", "items"]),
        "{body}"
    );
    assert_eq!(song_ids(body["items"].as_array().unwrap()), vec![s.clone()]);
    let body = get_ok(&app, None, &format!("/api/songs/{s}/similar")).await;
    assert_eq!(body["songId"], s.as_str(), "{body}");
    assert!(body["items"].is_array(), "{body}");
    assert_eq!(counts(&song_stats(&app, None, &s).await), (1, 0, 0, 1));
    let body = get_ok(&app, lee.bearer(), "/api/songs/recommendations/for-you").await;
    assert!(body["basis"].is_string(), "{body}");
    let body = get_ok(&app, None, &format!("/api/artists/{}/stats", ada.id)).await;
    assert_eq!(body["artistId"], ada.id.as_str(), "{body}");
    assert_eq!(whole_history(&app, &lee, 10).await.len(), 1);
}

fn song_ids_of_catalog(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// `(user_id, count)` of the rows of `table` in the activity database for `user_id`.
fn rows_of(app: &TestApp, table: &str, user_id: &str) -> i64 {
    let db = app.state_dir().join(".spin/activity.db");
    let conn =
        rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.query_row(
        &format!("SELECT COUNT(*) FROM {table} WHERE user_id = ?1"),
        [user_id],
        |row| row.get(0),
    )
    .unwrap_or_else(|e| panic!("count {table}: {e}"))
}

#[tokio::test]
async fn a_deleted_users_history_taste_and_counts_go_and_song_counts_stay() {
    let app = start().await;
    let boss = admin(&app).await;
    let (ada, lee, mo) = cast(&app).await;
    let s = upload(&app, &ada, song("Remembered")).await;
    let t = upload(&app, &ada, song("Also remembered")).await;
    play_all(&app, &lee, &[&s, &t]).await;
    listen(&app, &lee, &s, "skip", 1_000).await;
    let response = app
        .send_as(
            &lee.token,
            Method::PUT,
            "/api/me/taste",
            Some(json!({ "genres": ["pop"] })),
        )
        .await;
    assert_eq!(response.status, 200);
    play(&app, &mo, &s).await;
    assert_eq!(rows_of(&app, "listens", &lee.id), 3);

    admin_delete_user(&app, &boss, &lee.id).await;
    wait_user_deleted(&app, &lee.id).await;

    for table in ["listens", "user_songs", "tastes"] {
        assert_eq!(
            rows_of(&app, table, &lee.id),
            0,
            "{table} of the deleted user"
        );
    }
    // Their (still unexpired) access token finds nothing of theirs.
    let response = app
        .call(lee.bearer(), Method::GET, "/api/me/history", None)
        .await;
    if response.status == 200 {
        assert_eq!(response.json::<Value>()["items"], json!([]));
        let mine = my_stats(&app, &lee).await;
        assert_eq!(mine["plays"], 0, "{mine}");
        assert_eq!(
            get_ok(&app, lee.bearer(), "/api/me/taste").await["genres"],
            json!([])
        );
    } else {
        assert_problem(&response, 401, "the deleted user's token");
    }
    // The songs' counts stay; Mo keeps his history.
    assert_eq!(counts(&song_stats(&app, None, &s).await), (2, 0, 1, 2));
    assert_eq!(counts(&song_stats(&app, None, &t).await), (1, 0, 0, 1));
    assert_eq!(whole_history(&app, &mo, 10).await.len(), 1);
    assert_eq!(rows_of(&app, "listens", &mo.id), 1);
    // So does the co-listening of their listens (Lee alone played S then T).
    let items = similar(&app, None, &s, "").await;
    let next = item_of(&items, &t).unwrap_or_else(|| panic!("{items:?}"));
    assert!(
        reasons(next).contains(&"listened_together".to_string()),
        "{next}"
    );
}

#[tokio::test]
async fn a_deleted_song_leaves_trending_and_similar() {
    let app = start().await;
    let (ada, bo) = (artist(&app, "Ada").await, artist(&app, "Bo").await);
    let a = upload(&app, &ada, song("Stays").genre("pop")).await;
    let b = upload(&app, &bo, song("Goes").genre("pop")).await;
    let c = upload(&app, &bo, song("Goes quietly").genre("pop")).await;
    for name in ["U1", "U2"] {
        let u = listener(&app, name).await;
        play_all(&app, &u, &[&a, &b, &c]).await;
    }
    let u3 = listener(&app, "U3").await;
    play(&app, &u3, &a).await;
    assert_eq!(id_set(&trending(&app, None, "").await), set(&[&a, &b, &c]));
    assert_eq!(id_set(&similar(&app, None, &a, "").await), set(&[&b, &c]));

    delete_song(&app, &bo, &b).await;
    wait_track_deleted(&app, &b).await;
    assert_eq!(id_set(&trending(&app, None, "").await), set(&[&a, &c]));
    assert_eq!(id_set(&similar(&app, None, &a, "").await), set(&[&c]));

    // The event alone (the catalog still lists C) takes C out of every list of activity.
    let envelope = new_envelope(
        Event::TrackDeleted(TrackDeleted {
            song_id: c.clone(),
            artist_id: bo.id.clone(),
        }),
        "catalog",
        "activity-test",
    );
    EventBus::connect(&app.redis.url())
        .await
        .publish(&envelope)
        .await;
    wait_handled(&app, &envelope.id).await;
    assert_eq!(
        get_ok(&app, None, &format!("/api/songs/{c}")).await["id"],
        c.as_str()
    );
    assert_eq!(id_set(&trending(&app, None, "").await), set(&[&a]));
    assert_eq!(id_set(&trending(&app, None, "genre=pop").await), set(&[&a]));
    assert!(similar(&app, None, &a, "").await.is_empty());
    let (_, items) = for_you(&app, &u3, "limit=50").await;
    assert!(
        item_of(&items, &c).is_none() && item_of(&items, &b).is_none(),
        "{items:?}"
    );
    let stats = get_ok(&app, None, &format!("/api/artists/{}/stats", bo.id)).await;
    assert_eq!(stats["songs"], json!([]), "{stats}");
}

// ---------------------------------------------------------------------------------------------
// Admin rebuild
// ---------------------------------------------------------------------------------------------

/// What the rebuild must leave as it was.
async fn snapshot(app: &TestApp, songs: &[String], users: &[&User], artist: &User) -> Value {
    let mut stats = Vec::new();
    for s in songs {
        stats.push(song_stats(app, None, s).await);
    }
    let mut mine = Vec::new();
    for u in users {
        mine.push(my_stats(app, u).await);
    }
    let round = |items: Vec<Value>| -> Vec<(String, i64)> {
        items
            .iter()
            .map(|i| {
                let id = i["song"]["id"].as_str().unwrap().to_string();
                (id, (i["score"].as_f64().unwrap() * 100.0).round() as i64)
            })
            .collect()
    };
    json!({
        "songs": stats,
        "me": mine,
        "artist": get_ok(app, None, &format!("/api/artists/{}/stats", artist.id)).await,
        "trending": round(trending(app, None, "limit=50").await),
        "similar": round(similar(app, None, &songs[0], "limit=50").await),
    })
}

#[tokio::test]
async fn an_admin_rebuild_gives_the_same_counts_and_rankings() {
    let app = start().await;
    let boss = admin(&app).await;
    let ada = artist(&app, "Ada").await;
    let songs = upload_many(&app, &ada, "Rebuilt", 5, Some("pop")).await;
    let (u1, u2, u3) = (
        listener(&app, "U1").await,
        listener(&app, "U2").await,
        listener(&app, "U3").await,
    );
    play_all(&app, &u1, &[&songs[0], &songs[1], &songs[2]]).await;
    listen(&app, &u1, &songs[3], "skip", 1_000).await;
    listen(&app, &u2, &songs[0], "complete", 9_000).await;
    listen(&app, &u2, &songs[1], "skip", 4_000).await;
    play(&app, &u2, &songs[4]).await;
    listen(&app, &u3, &songs[0], "complete", 9_000).await;
    play(&app, &u3, &songs[2]).await;

    let before = snapshot(&app, &songs, &[&u1, &u2, &u3], &ada).await;
    let path = "/api/admin/activity/rebuild";
    assert_problem(
        &app.call(None, Method::POST, path, None).await,
        401,
        "anonymous",
    );
    assert_problem(
        &app.call(u1.bearer(), Method::POST, path, None).await,
        403,
        "a listener",
    );
    assert_problem(
        &app.call(ada.bearer(), Method::POST, path, None).await,
        403,
        "an artist",
    );
    let response = app.call(boss.bearer(), Method::POST, path, None).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body: Value = response.json();
    assert_eq!(body["listens"], 9, "{body}");
    assert!(body["tookMs"].is_u64(), "{body}");

    let after = snapshot(&app, &songs, &[&u1, &u2, &u3], &ada).await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_rebuild_after_a_user_was_deleted_keeps_the_song_counts() {
    let app = start().await;
    let boss = admin(&app).await;
    let (ada, lee, mo) = cast(&app).await;
    let s = upload(&app, &ada, song("Counted forever")).await;
    let (bo, cy) = (artist(&app, "Bo").await, artist(&app, "Cy").await);
    let t = upload(&app, &bo, song("Played after")).await;
    let u = upload(&app, &cy, song("Played by Mo")).await;
    play_all(&app, &lee, &[&s, &t]).await;
    play_all(&app, &mo, &[&s, &u]).await;
    admin_delete_user(&app, &boss, &lee.id).await;
    wait_user_deleted(&app, &lee.id).await;
    assert_eq!(counts(&song_stats(&app, None, &s).await), (2, 0, 0, 2));

    let response = app
        .call(
            boss.bearer(),
            Method::POST,
            "/api/admin/activity/rebuild",
            None,
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        counts(&song_stats(&app, None, &s).await),
        (2, 0, 0, 2),
        "spec: on user.deleted the aggregate per-song counts stay; a rebuild must not undo that"
    );
    assert_eq!(counts(&song_stats(&app, None, &t).await), (1, 0, 0, 1));
    // Co-listening stays too: T (only the deleted user played it after S) is listened together.
    let items = similar(&app, None, &s, "").await;
    assert_eq!(id_set(&items), set(&[&t, &u]), "{items:?}");
    assert!(
        items.iter().all(|i| reasons(i) == ["listened_together"]),
        "{items:?}"
    );
}

#[tokio::test]
async fn following_an_artist_remakes_a_cached_for_you_list() {
    let app = start().await;
    let (fa, bo) = (artist(&app, "Fa").await, artist(&app, "Bo").await);
    let s = upload(&app, &bo, song("Everyday")).await;
    let t = upload(&app, &bo, song("Everyday too")).await;
    let o = listener(&app, "O").await;
    play_all(&app, &o, &[&s, &t]).await;
    let u = listener(&app, "U").await;
    play(&app, &u, &s).await;
    let fresh = upload(&app, &fa, song("Fresh")).await;
    wait_published(&app, &fresh).await;

    // Cached without the release: U follows nobody yet.
    let (_, before) = for_you(&app, &u, "limit=50").await;
    assert!(item_of(&before, &fresh).is_none(), "{before:?}");

    // The follow reaches activity as an event and drops the cached list.
    follow(&app, &u, &fa.id).await;
    eventually(WAIT, "the new release in the remade list", || async {
        let (_, items) = for_you(&app, &u, "limit=50").await;
        item_of(&items, &fresh)
            .is_some_and(|i| for_you_reason(i).0 == "new_release")
            .then_some(())
    })
    .await;
}
