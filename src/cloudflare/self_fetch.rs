//! Reaching this worker's own platform without a network hop: the
//! head-start handler's platform calls, when no `TRIGGER_API_URL` is set,
//! are dispatched in-process to the same routes a remote client reaches.

use futures_util::StreamExt;
use worker::{Env, Method, Request, RequestInit};

use crate::io::{Fetch, FetchError, HttpRequest, HttpResponse, ResponseBody};

pub struct SelfFetch {
    pub env: Env,
}

pub struct SelfBody(Option<worker::ByteStream>);

impl ResponseBody for SelfBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        let stream = self.0.as_mut()?;
        Some(stream.next().await?.map_err(|e| FetchError(e.to_string())))
    }
}

fn err(e: worker::Error) -> FetchError {
    FetchError(e.to_string())
}

impl Fetch for SelfFetch {
    type Body = SelfBody;

    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<SelfBody>, FetchError> {
        let headers = worker::Headers::new();
        for (n, v) in &request.headers {
            headers.append(n, v).map_err(err)?;
        }
        let method = Method::from(request.method.to_string());
        let mut init = RequestInit::new();
        init.with_method(method).with_headers(headers);
        if !request.body.is_empty() {
            init.with_body(Some(request.body.clone().into()));
            // The platform requires a declared length, as the hosted one does.
            init.headers.set("content-length", &request.body.len().to_string()).map_err(err)?;
        }
        let req = Request::new_with_init(&request.url, &init).map_err(err)?;
        let mut response = super::platform(req, self.env.clone()).await.map_err(err)?;
        let headers = response.headers().entries().collect();
        let body = response.stream().ok();
        Ok(HttpResponse { status: response.status_code(), headers, body: SelfBody(body) })
    }
}

/// The platform's transport: the network for a remote platform
/// (`TRIGGER_API_URL`), in-process for this worker's own.
pub enum PlatformFetch {
    Remote(crate::web::fetch::WebFetch),
    Local(SelfFetch),
}

impl PlatformFetch {
    pub fn new(remote: bool, env: Env) -> Self {
        if remote {
            Self::Remote(crate::web::fetch::WebFetch)
        } else {
            Self::Local(SelfFetch { env })
        }
    }
}

pub enum PlatformBody {
    Remote(crate::web::fetch::WebBody),
    Local(SelfBody),
}

impl ResponseBody for PlatformBody {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, FetchError>> {
        match self {
            Self::Remote(b) => b.next_chunk().await,
            Self::Local(b) => b.next_chunk().await,
        }
    }
}

impl Fetch for PlatformFetch {
    type Body = PlatformBody;

    async fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse<PlatformBody>, FetchError> {
        Ok(match self {
            Self::Remote(f) => wrap(f.fetch(request).await?, PlatformBody::Remote),
            Self::Local(f) => wrap(f.fetch(request).await?, PlatformBody::Local),
        })
    }
}

fn wrap<B>(r: HttpResponse<B>, body: fn(B) -> PlatformBody) -> HttpResponse<PlatformBody> {
    HttpResponse { status: r.status, headers: r.headers, body: body(r.body) }
}
