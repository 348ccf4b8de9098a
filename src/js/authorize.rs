//! The `authorize(request)` option: the app's own check of a caller, in
//! place of JWT checking. It gets the runtime's `Request` (its body is the
//! route's: do not read it) and returns an identity (a string, or an object
//! with a string `id`), a `Response` to answer with, or a Promise of either;
//! `null`/`undefined` refuses the caller (401).

use std::cell::RefCell;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, Response};

use crate::identity::{AuthError, Authorize, AuthorizeFuture, Identity, IdentitySource};

/// The hook, for one request. A `Response` it returns is kept in `answer`
/// for the handler to send.
pub struct JsAuthorize {
    pub hook: Function,
    pub request: Request,
    pub answer: RefCell<Option<Response>>,
}

impl Authorize for JsAuthorize {
    fn authorize(&self) -> AuthorizeFuture<'_> {
        Box::pin(async move {
            let failed = |e: JsValue| AuthError::Hook(describe(&e));
            let returned = self.hook.call1(&JsValue::NULL, &self.request).map_err(failed)?;
            let value = match returned.dyn_ref::<Promise>() {
                Some(promise) => JsFuture::from(promise.clone()).await.map_err(failed)?,
                None => returned,
            };
            if value.is_instance_of::<Response>() {
                *self.answer.borrow_mut() = Some(value.unchecked_into());
                return Err(AuthError::Answered);
            }
            if value.is_undefined() || value.is_null() || value.as_bool() == Some(false) {
                return Err(AuthError::HookRefused);
            }
            let id = match value.as_string() {
                Some(id) => Some(id),
                None if value.is_object() => Reflect::get(&value, &"id".into()).ok().and_then(|id| id.as_string()),
                None => None,
            };
            match id.as_deref().map(str::trim) {
                Some(id) if !id.is_empty() && id.len() <= 256 => {
                    Ok(Identity { id: id.to_string(), source: IdentitySource::Hook })
                }
                _ => Err(AuthError::Hook(
                    "authorize must return an identity (a non-empty string, or an object with a string `id` of at most 256 \
                     characters), a Response, or null to refuse"
                        .into(),
                )),
            }
        })
    }
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_else(|| format!("{e:?}"))
}
