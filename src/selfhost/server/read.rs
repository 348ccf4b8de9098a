//! `GET /realtime/v1/sessions/{key}/{io}` (PROTOCOL.md §5.7): the stream as
//! S2 SSE, pulled one batch per poll of the body ([`crate::selfhost::tail`]),
//! so a slow reader of a long backlog holds one batch, not the backlog.

use futures_util::stream;

use super::{auth_error, Host, Served, Server, ServerBody, ServerRequest, ServerResponse};
use crate::io::Clock;
use crate::selfhost::auth::{self, Op};
use crate::selfhost::http;
use crate::selfhost::log::{self, LogStore};
use crate::selfhost::route::SessionKey;
use crate::selfhost::store::{SessionStore, StreamLog};
use crate::selfhost::tail::Tail;
use crate::selfhost::Io;

impl<S: SessionStore + 'static, H: Host + 'static> Server<S, H> {
    pub(super) fn read(&self, req: &ServerRequest, key: &SessionKey, io: Io) -> Served {
        let core = &self.core;
        let cred = self.authenticate(req)?;
        let row = self.row_for(key)?;
        auth::authorize_any(&cred, &Self::keys(key, &row), |k| Op::Read { key: k, io }).map_err(auth_error)?;
        let log = StreamLog::new(&core.store, io);
        let start = match req.header("last-event-id") {
            Some(id) => http::last_event_id_start(Some(id)),
            None if http::stream_start_latest(req.header("x-trigger-stream-start")) => {
                log.meta().map_err(|e| core.unavailable(e))?.next_seq
            }
            None => 0,
        };
        let mut wait = http::timeout_seconds(req.header("timeout-seconds")).map_err(|e| e.response())?;
        let settled = io == Io::Out
            && http::peek_settled(req.header("x-peek-settled"))
            && log::peek_settled(&log).map_err(|e| core.unavailable(e))?;
        if settled {
            wait = 0;
        }
        let tail = Tail::new(start, wait, core.host.clock().now_ms());
        let events = stream::unfold((core.clone(), tail), move |(core, mut tail)| async move {
            let event = tail.next_event(&StreamLog::new(&core.store, io), core.changed(io), core.host.clock()).await?;
            Some((event, (core, tail)))
        });
        let mut r = ServerResponse { status: 200, headers: Vec::new(), body: ServerBody::Events(Box::pin(events)) };
        r.set_header("content-type", "text/event-stream");
        r.set_header("cache-control", "no-cache, no-transform");
        r.set_header("X-Stream-Version", "v2");
        r.set_header("Access-Control-Expose-Headers", "*");
        if settled {
            r.set_header("X-Session-Settled", "true");
        }
        Ok(r)
    }
}
