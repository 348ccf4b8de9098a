//! Timers over the global `setTimeout`/`clearTimeout`, present on every
//! runtime we target.
//!
//! A [`Sleep`] dropped before it fires clears its timer. Most sleeps lose a
//! race (a stall or idle limit, a request timeout) and are dropped; left
//! armed, their timers would pile up for as long as they were set, and on
//! Node keep the process alive until the last one fired.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Wall-clock milliseconds since the epoch. On workerd this only advances
/// across IO, which is all a protocol timer needs.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[derive(Default)]
struct Shared {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// Resolves `ms` milliseconds after it was made; dropping it first clears
/// the timer.
pub struct Sleep {
    shared: Rc<Shared>,
    id: JsValue,
    _callback: Closure<dyn FnMut()>,
}

/// A timer of `ms` milliseconds, started now.
pub fn sleep(ms: u32) -> Sleep {
    let shared = Rc::new(Shared::default());
    let on_fire = shared.clone();
    let callback = Closure::<dyn FnMut()>::new(move || {
        on_fire.fired.set(true);
        let waker = on_fire.waker.borrow_mut().take();
        if let Some(w) = waker {
            w.wake();
        }
    });
    let id = set_timeout(callback.as_ref().unchecked_ref(), i32::try_from(ms).unwrap_or(i32::MAX));
    Sleep { shared, id, _callback: callback }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.fired.get() {
            return Poll::Ready(());
        }
        *self.shared.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if !self.shared.fired.get() {
            clear_timeout(&self.id);
        }
    }
}
