//! RS256 and ES256 signatures checked by the runtime's WebCrypto
//! (`globalThis.crypto.subtle`, on workerd, Deno, Bun, Vercel Edge and
//! Node >= 20), so the wasm carries no RSA or elliptic-curve code. The JWK
//! is imported as is (`importKey("jwk", ...)`); a JWS's ES256 signature is
//! already the raw `r || s` WebCrypto takes.
//!
//! It also signs RS256 with a PKCS#8 key (`importKey("pkcs8", ...)`): the
//! Vertex AI service-account assertion.

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::identity::{Alg, Jwk, KeyVerifier, VerifyFuture};
use crate::provider::google::auth::{JwtSigner, SignFuture};

/// The runtime's WebCrypto.
#[derive(Debug, Default, Clone, Copy)]
pub struct WebCrypto;

impl KeyVerifier for WebCrypto {
    fn verify<'a>(&'a self, alg: Alg, key: &'a Jwk, message: &'a [u8], signature: &'a [u8]) -> VerifyFuture<'a> {
        Box::pin(async move { verify(alg, key, message, signature).await.map_err(|e| describe(&e)) })
    }
}

impl JwtSigner for WebCrypto {
    fn sign_rs256<'a>(&'a self, pkcs8_der: &'a [u8], message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(async move { sign_rs256(pkcs8_der, message).await.map_err(|e| describe(&e)) })
    }
}

/// `globalThis.crypto.subtle`, or an error on a runtime without it.
fn subtle() -> Result<JsValue, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into())?;
    let subtle = Reflect::get(&crypto, &"subtle".into())?;
    if subtle.is_undefined() {
        return Err("this runtime has no crypto.subtle".into());
    }
    Ok(subtle)
}

/// The import algorithm of an RS256 key.
fn rs256_import() -> Result<Object, JsValue> {
    object(&[("name", "RSASSA-PKCS1-v1_5".into()), ("hash", "SHA-256".into())])
}

async fn sign_rs256(pkcs8_der: &[u8], message: &[u8]) -> Result<Vec<u8>, JsValue> {
    let subtle = subtle()?;
    let alg = rs256_import()?;
    // Not extractable: the key never leaves WebCrypto again.
    let key = Uint8Array::from(pkcs8_der);
    let usages = Array::of1(&"sign".into());
    let import = call(&subtle, "importKey", &["pkcs8".into(), key.into(), alg.into(), false.into(), usages.into()])?;
    let crypto_key = JsFuture::from(import).await?;
    let data = Uint8Array::from(message);
    let sign_alg = object(&[("name", "RSASSA-PKCS1-v1_5".into())])?;
    let signed = JsFuture::from(call(&subtle, "sign", &[sign_alg.into(), crypto_key, data.into()])?).await?;
    Ok(Uint8Array::new(&signed).to_vec())
}

async fn verify(alg: Alg, key: &Jwk, message: &[u8], signature: &[u8]) -> Result<bool, JsValue> {
    let subtle = subtle()?;
    let (import_alg, verify_alg) = match alg {
        Alg::Rs256 => {
            let import = rs256_import()?;
            (import, object(&[("name", "RSASSA-PKCS1-v1_5".into())])?)
        }
        Alg::Es256 => {
            let import = object(&[("name", "ECDSA".into()), ("namedCurve", "P-256".into())])?;
            (import, object(&[("name", "ECDSA".into()), ("hash", "SHA-256".into())])?)
        }
        Alg::Hs256 => return Err("HS256 is checked without WebCrypto".into()),
    };
    let jwk = js_sys::JSON::parse(&key.public_json().to_string())?;
    let usages = Array::of1(&"verify".into());
    let import = call(&subtle, "importKey", &["jwk".into(), jwk, import_alg.into(), false.into(), usages.into()])?;
    let crypto_key = JsFuture::from(import).await?;
    // Copies: WebCrypto may read the buffers after this call returns.
    let signature = Uint8Array::from(signature);
    let data = Uint8Array::from(message);
    let verified = call(&subtle, "verify", &[verify_alg.into(), crypto_key, signature.into(), data.into()])?;
    Ok(JsFuture::from(verified).await?.as_bool().unwrap_or(false))
}

fn object(fields: &[(&str, JsValue)]) -> Result<Object, JsValue> {
    let o = Object::new();
    for (name, value) in fields {
        Reflect::set(&o, &(*name).into(), value)?;
    }
    Ok(o)
}

/// Calls a method that returns a promise. `Promise.resolve` adopts it even
/// from another realm (Vercel's edge-runtime gives WebCrypto's promises from
/// Node's realm, which are not `instanceof` the sandbox's `Promise`).
fn call(this: &JsValue, method: &str, args: &[JsValue]) -> Result<Promise, JsValue> {
    let f: Function = Reflect::get(this, &method.into())?.dyn_into()?;
    let args: Array = args.iter().collect();
    Ok(Promise::resolve(&f.apply(this, &args)?))
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_else(|| format!("{e:?}"))
}
