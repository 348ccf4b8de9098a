use serde_json::json;

use crate::protocol::session::{CreateSessionRequest, CreatedSession, SessionRequestError};
use crate::selfhost::ids::splitmix64;
use crate::selfhost::sessions::*;

const T0: u64 = 1_755_856_800_000;

fn request(body: serde_json::Value) -> CreateSessionRequest {
    serde_json::from_value(body).unwrap()
}

fn head_start() -> CreateSessionRequest {
    request(json!({
        "type": "chat.agent", "externalId": "chat_7f3c2a", "taskIdentifier": "my-chat",
        "triggerConfig": {
            "basePayload": { "headStartMessages": [], "chatId": "chat_7f3c2a", "trigger": "handover-prepare",
                             "metadata": { "userId": "user_42" }, "idleTimeoutInSeconds": 60 },
            "tags": ["chat:chat_7f3c2a"], "idleTimeoutInSeconds": 45
        }
    }))
}

fn create(existing: Option<&SessionRow>, req: &CreateSessionRequest, now: u64) -> Result<CreateOutcome, CreateError> {
    create_or_reuse(existing, req, now, &mut splitmix64(now))
}

#[test]
fn a_new_session_triggers_the_first_run() {
    let out = create(None, &head_start(), T0).unwrap();
    assert_eq!((out.status, out.is_cached), (201, false));
    let row = &out.row;
    assert!(row.id.starts_with("session_") && row.id.len() == 8 + 25, "{}", row.id);
    assert_eq!(row.external_id.as_deref(), Some("chat_7f3c2a"));
    assert_eq!(row.addressing_key(), "chat_7f3c2a");
    assert_eq!(row.keys(), [row.id.as_str(), "chat_7f3c2a"]);
    assert_eq!(row.run_state, RunState::Booting);
    let run = out.run.unwrap();
    assert!(run.run_id.starts_with("run_") && run.run_id.len() == 4 + 25);
    assert_eq!(row.current_run_id.as_ref(), Some(&run.run_id));
    assert!(!run.continuation);
    assert_eq!(run.task_identifier, "my-chat");
    // basePayload order kept, idleTimeoutInSeconds overwritten in place from
    // the trigger config, sessionId appended.
    assert_eq!(
        serde_json::to_string(&run.payload).unwrap(),
        format!(
            r#"{{"headStartMessages":[],"chatId":"chat_7f3c2a","trigger":"handover-prepare","metadata":{{"userId":"user_42"}},"idleTimeoutInSeconds":45,"sessionId":"{}"}}"#,
            row.id
        )
    );
}

#[test]
fn a_repeat_reuses_the_live_run_and_writes_config_through() {
    let first = create(None, &head_start(), T0).unwrap().row;
    for state in [RunState::Booting, RunState::Running, RunState::Idle] {
        let mut row = first.clone();
        let run_id = row.current_run_id.clone().unwrap();
        assert!(row.report_run_state(&run_id, state, T0 + 1));
        let mut req = head_start();
        req.trigger_config.base_payload.insert("trigger".into(), "preload".into());
        req.tags = Some(vec!["vip".into()]);
        req.metadata = Some(json!({ "plan": "pro" }).as_object().unwrap().clone());
        let out = create(Some(&row), &req, T0 + 5).unwrap();
        assert_eq!((out.status, out.is_cached), (200, true));
        assert!(out.run.is_none(), "{state:?}: live run reused");
        assert_eq!(out.row.current_run_id, Some(run_id));
        assert_eq!(out.row.trigger_config.base_payload["trigger"], "preload");
        assert_eq!(out.row.tags, ["vip"]);
        assert_eq!(out.row.metadata.as_ref().unwrap()["plan"], "pro");
        assert_eq!(out.row.id, first.id);
        assert_eq!((out.row.created_at_ms, out.row.updated_at_ms), (T0, T0 + 5));
    }
    // Tags and metadata absent from the repeat are left alone.
    let mut row = first.clone();
    row.tags = vec!["keep".into()];
    assert_eq!(create(Some(&row), &head_start(), T0).unwrap().row.tags, ["keep"]);
}

#[test]
fn an_exited_run_gets_a_continuation() {
    let mut row = create(None, &head_start(), T0).unwrap().row;
    let old = row.current_run_id.clone().unwrap();
    row.report_run_state(&old, RunState::Exited, T0 + 1);
    let mut req = head_start();
    req.trigger_config.base_payload.insert("message".into(), json!({"id": "m"}));
    req.trigger_config.base_payload.insert("messages".into(), json!([]));
    let out = create(Some(&row), &req, T0 + 2).unwrap();
    assert_eq!((out.status, out.is_cached), (200, true));
    let run = out.run.unwrap();
    assert!(run.continuation);
    assert_eq!(run.previous_run_id.as_deref(), Some(old.as_str()));
    assert_ne!(run.run_id, old);
    assert_eq!(out.row.current_run_id.as_ref(), Some(&run.run_id));
    assert_eq!(out.row.run_state, RunState::Booting);
    assert_eq!(
        serde_json::to_value(&run.payload).unwrap(),
        json!({ "headStartMessages": [], "chatId": "chat_7f3c2a", "metadata": { "userId": "user_42" },
                "idleTimeoutInSeconds": 45, "sessionId": row.id, "continuation": true, "previousRunId": old })
    );
    let keys: Vec<&String> = run.payload.keys().collect();
    assert_eq!(keys[..3], ["headStartMessages", "chatId", "metadata"], "order kept after removals");
}

#[test]
fn appends_continue_an_exited_run_only() {
    let mut rng = splitmix64(3);
    let mut row = create(None, &head_start(), T0).unwrap().row;
    assert!(ensure_run_for_append(&mut row, T0 + 1, &mut rng).is_none());
    let old = row.current_run_id.clone().unwrap();
    assert!(!row.report_run_state("run_other", RunState::Exited, T0 + 2), "stale run ignored");
    assert_eq!(row.run_state, RunState::Booting);
    row.report_run_state(&old, RunState::Exited, T0 + 2);
    let run = ensure_run_for_append(&mut row, T0 + 3, &mut rng).unwrap();
    assert_eq!(run.previous_run_id, Some(old.clone()));
    assert_eq!(run.payload["continuation"], true);
    assert!(ensure_run_for_append(&mut row, T0 + 4, &mut rng).is_none(), "the new run is live");
    // The old run reporting in late does not disturb the new one.
    assert!(!row.report_run_state(&old, RunState::Exited, T0 + 5));
    assert!(ensure_run_for_append(&mut row, T0 + 6, &mut rng).is_none());
    row.report_run_state(&run.run_id.clone(), RunState::Exited, T0 + 7);
    row.close(Some("done".into()), T0 + 8);
    assert!(ensure_run_for_append(&mut row, T0 + 9, &mut rng).is_none(), "closed: no run");
}

#[test]
fn closed_and_expired_sessions_refuse() {
    let mut row = create(None, &head_start(), T0).unwrap().row;
    assert_eq!(check_appendable(&row, T0), Ok(()));
    row.close(Some("user ended chat".into()), T0 + 1);
    row.close(Some("again".into()), T0 + 2);
    assert_eq!(row.closed_reason.as_deref(), Some("user ended chat"));
    let err = create(Some(&row), &head_start(), T0 + 3).unwrap_err();
    assert_eq!(err, CreateError::Closed);
    let resp = err.response();
    assert_eq!(resp.status, 409);
    assert_eq!(resp.body, r#"{"error":"Session is closed; use a different externalId to create a new session"}"#);
    assert!(resp.headers.contains(&("x-should-retry", "false".into())));
    let refusal = check_appendable(&row, T0).unwrap_err();
    let resp = refusal.response();
    assert_eq!(resp.status, 409);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&resp.body).unwrap(),
        json!({"ok": false, "error": "Cannot append to a closed session", "code": "session_closed",
               "closedReason": "user ended chat"})
    );

    let mut req = head_start();
    req.expires_at = Some("2025-08-22T10:00:01.000Z".into());
    let row = create(None, &req, T0).unwrap().row;
    assert_eq!(row.expires_at_ms, Some(T0 + 1000));
    assert!(create(Some(&row), &head_start(), T0 + 1000).is_ok(), "expires after, not at, expiresAt");
    assert_eq!(create(Some(&row), &head_start(), T0 + 1001).unwrap_err(), CreateError::Expired);
    assert_eq!(check_appendable(&row, T0 + 1001).unwrap_err().response().status, 400);
    assert_eq!(create(None, &req, T0 + 1001).unwrap_err(), CreateError::Expired);
}

#[test]
fn invalid_requests_are_422() {
    let mut req = head_start();
    req.trigger_config.idle_timeout_in_seconds = Some(0);
    let err = create(None, &req, T0).unwrap_err();
    assert_eq!(err, CreateError::Invalid(SessionRequestError::IdleTimeout));
    assert_eq!(err.response().status, 422);
    assert!(err.response().body.contains("idleTimeoutInSeconds must be 1 to 3600"));
    let mut req = head_start();
    req.external_id = "session_abc".into();
    assert_eq!(create(None, &req, T0).unwrap_err().status(), 422);
    let mut req = head_start();
    req.expires_at = Some("next tuesday".into());
    assert_eq!(create(None, &req, T0).unwrap_err(), CreateError::ExpiresAt);
    // The stored externalId is trimmed, as the platform stores it.
    let mut req = head_start();
    req.external_id = "  chat_9 ".into();
    assert_eq!(create(None, &req, T0).unwrap().row.external_id.as_deref(), Some("chat_9"));
}

#[test]
fn created_response_matches_the_schema() {
    let out = create(None, &head_start(), T0).unwrap();
    let body = created_response(&out.row, "eyJtoken".into(), false);
    let v = serde_json::to_value(&body).unwrap();
    assert_eq!(v["id"], out.row.id);
    assert_eq!(v["externalId"], "chat_7f3c2a");
    assert_eq!(v["type"], "chat.agent");
    assert_eq!(v["createdAt"], "2025-08-22T10:00:00.000Z");
    assert_eq!(v["updatedAt"], "2025-08-22T10:00:00.000Z");
    assert_eq!(v["runId"], v["currentRunId"]);
    assert_eq!(v["publicAccessToken"], "eyJtoken");
    assert_eq!(v["isCached"], false);
    for null in ["closedAt", "closedReason", "expiresAt", "metadata"] {
        assert!(v[null].is_null(), "{null}");
    }
    assert_eq!(v["tags"], json!([]));
    assert_eq!(v["triggerConfig"]["idleTimeoutInSeconds"], 45);
    assert!(v.get("pendingVersion").is_none());
    // It parses back with the route handler's own schema.
    let back: CreatedSession = serde_json::from_value(v).unwrap();
    assert_eq!(back, body);

    let mut row = out.row.clone();
    row.close(None, T0 + 1_234);
    let v = serde_json::to_value(created_response(&row, "t".into(), true)).unwrap();
    assert_eq!(v["closedAt"], "2025-08-22T10:00:01.234Z");
    assert_eq!(v["isCached"], true);
}

#[test]
fn rows_round_trip_through_storage() {
    let mut row = create(None, &head_start(), T0).unwrap().row;
    row.report_run_state(&row.current_run_id.clone().unwrap(), RunState::Idle, T0 + 1);
    let json = serde_json::to_value(&row).unwrap();
    assert_eq!(json["runState"], "idle");
    assert_eq!(json["type"], "chat.agent");
    assert_eq!(json["createdAtMs"], T0);
    assert_eq!(serde_json::from_value::<SessionRow>(json).unwrap(), row);
}

#[test]
fn a_chat_with_an_owner_is_reused_by_its_owner_alone() {
    let mine = head_start().owned_by("alice");
    let row = create(None, &mine, T0).unwrap().row;
    assert_eq!(create(Some(&row), &head_start().owned_by("alice"), T0 + 1).unwrap().status, 200);
    for other in [head_start().owned_by("mallory"), head_start()] {
        let err = create(Some(&row), &other, T0 + 1).unwrap_err();
        assert_eq!((err, err_status(&other, &row)), (CreateError::NotOwner, 403));
    }
    // A chat created without an owner (local, anonymous) stays open to all.
    let open = create(None, &head_start(), T0).unwrap().row;
    assert!(create(Some(&open), &head_start().owned_by("bob"), T0 + 1).is_ok());
}

fn err_status(req: &CreateSessionRequest, row: &SessionRow) -> u16 {
    create(Some(row), req, T0 + 1).unwrap_err().status()
}
