//! App icons (seed: timeline events v3, custom icon): `PUT|DELETE /admin/v1/apps/{appId}/icon`
//! and `GET /apps/{appId}/icon`. Every rule at and past its limit, the 30×30 rendition, SVGs
//! rasterized, the route's own body limit beside the server's. Test images are made here.

use std::io::Cursor;

use chronik_domain::app_icon::MAX_ICON_BYTES;
use chronik_domain::AppId;
use image::{ImageFormat, Rgb, Rgba, RgbaImage};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::Method;

use crate::helpers::{raw_http, read, TestApp, TestResponse};

const RED: Rgba<u8> = Rgba([200, 30, 40, 255]);
const CLEAR: Rgba<u8> = Rgba([0, 0, 0, 0]);

fn encode(pixels: image::DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    pixels
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

fn png(w: u32, h: u32, paint: impl Fn(u32, u32) -> Rgba<u8>) -> Vec<u8> {
    encode(RgbaImage::from_fn(w, h, paint).into())
}

/// A red disc centred on a transparent square: an icon as the seed wants it.
pub fn disc(side: u32) -> Vec<u8> {
    png(side, side, |x, y| {
        let c = side as f32 / 2.0;
        let (dx, dy) = (x as f32 + 0.5 - c, y as f32 + 0.5 - c);
        if dx * dx + dy * dy <= (side as f32 * 0.4).powi(2) {
            RED
        } else {
            CLEAR
        }
    })
}

/// Opaque red except the four corner pixels, which have `corner_alpha`.
fn filled_except_corners(w: u32, h: u32, corner_alpha: u8) -> Vec<u8> {
    png(w, h, |x, y| {
        if (x == 0 || x == w - 1) && (y == 0 || y == h - 1) {
            Rgba([200, 30, 40, corner_alpha])
        } else {
            RED
        }
    })
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `icon` grown to exactly `len` bytes by a private ancillary chunk, which decoders skip.
fn padded(icon: &[u8], len: usize) -> Vec<u8> {
    let iend = icon.len() - 12;
    let payload = len - icon.len() - 12;
    let mut body = b"prVt".to_vec();
    body.resize(4 + payload, 0);
    let mut out = icon[..iend].to_vec();
    out.extend_from_slice(&(payload as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out.extend_from_slice(&icon[iend..]);
    assert_eq!(out.len(), len);
    out
}

/// `icon` whose IHDR declares `w`×`h`.
fn declaring(icon: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = icon.to_vec();
    out[16..20].copy_from_slice(&w.to_be_bytes());
    out[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&out[12..29]);
    out[29..33].copy_from_slice(&crc.to_be_bytes());
    out
}

const SVG_DISC: &str = r##"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
  <script>alert(document.cookie)</script>
  <circle cx="32" cy="32" r="24" fill="#1e64c8" onload="alert(2)"/>
</svg>"##;

/// A served icon: status, headers and the raw bytes.
struct Served {
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl Served {
    fn header(&self, name: reqwest::header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    fn decode(&self) -> RgbaImage {
        assert!(self.bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        image::load_from_memory_with_format(&self.bytes, ImageFormat::Png)
            .unwrap()
            .into_rgba8()
    }
}

impl TestApp {
    /// `PUT /admin/v1/apps/{appId}/icon` with `bytes` as `content_type`.
    pub async fn put_icon(&self, app_id: i64, content_type: &str, bytes: Vec<u8>) -> TestResponse {
        self.send(
            self.admin(Method::PUT, &format!("/admin/v1/apps/{app_id}/icon"))
                .header(CONTENT_TYPE, content_type)
                .body(bytes),
        )
        .await
    }

    pub async fn delete_icon(&self, app_id: i64) -> TestResponse {
        self.send(self.admin(Method::DELETE, &format!("/admin/v1/apps/{app_id}/icon")))
            .await
    }

    /// `GET /apps/{appId}/icon`, no credentials, as raw bytes.
    async fn served_icon(&self, app_id: i64, if_none_match: Option<&str>) -> Served {
        let mut request = self.request(Method::GET, &format!("/apps/{app_id}/icon"));
        if let Some(etag) = if_none_match {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let response = request.send().await.unwrap();
        Served {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            bytes: response.bytes().await.unwrap().to_vec(),
        }
    }

    /// The same GET read as a JSON error.
    async fn served_icon_error(&self, app_id: i64) -> TestResponse {
        read(
            self.request(Method::GET, &format!("/apps/{app_id}/icon"))
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// The icon story on one server: upload, serve, revalidate, replace with an SVG, delete.
async fn icon_story(app: &TestApp) {
    let creds = app.new_app("Timeline app").await;
    let id = creds.app_id;
    app.served_icon_error(id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    let icon = disc(120);
    let put = app.put_icon(id, "image/png", icon.clone()).await;
    put.assert_status(200).assert_json_content_type();
    assert_eq!(put.int("appId"), id);
    assert_eq!(put.str("contentType"), "image/png");
    assert_eq!(put.int("originalBytes"), icon.len() as i64);
    assert_eq!((put.int("width"), put.int("height")), (30, 30));
    assert_eq!(
        put.str("iconUrl"),
        chronik_server::api::app_icons::icon_url(AppId(id))
    );
    assert_eq!(put.str("iconUrl"), format!("/apps/{id}/icon"));

    let served = app.served_icon(id, None).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.header(CONTENT_TYPE), "image/png");
    assert!(served.header(CACHE_CONTROL).contains("max-age="));
    let out = served.decode();
    assert_eq!(out.dimensions(), (30, 30));
    assert_eq!(*out.get_pixel(15, 15), RED);
    assert_eq!(
        out.get_pixel(0, 0)[3],
        0,
        "the background stays transparent"
    );

    let etag = served.header(ETAG).to_owned();
    let again = app.served_icon(id, Some(&etag)).await;
    assert_eq!(again.status, 304);
    assert!(again.bytes.is_empty());

    // An SVG replaces it, and is served rasterized: never as uploaded.
    let put = app
        .put_icon(id, "image/svg+xml; charset=utf-8", SVG_DISC.into())
        .await;
    put.assert_status(200);
    assert_eq!(put.str("contentType"), "image/svg+xml");
    let served = app.served_icon(id, Some(&etag)).await;
    assert_eq!(served.status, 200, "a new upload changes the ETag");
    assert_eq!(served.header(CONTENT_TYPE), "image/png");
    assert!(!served.bytes.windows(7).any(|w| w == b"<script"));
    let out = served.decode();
    assert_eq!(out.dimensions(), (30, 30));
    assert_eq!(*out.get_pixel(15, 15), Rgba([0x1e, 0x64, 0xc8, 255]));
    assert_eq!(out.get_pixel(29, 29)[3], 0);

    app.delete_icon(id).await.assert_status(204);
    app.served_icon_error(id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    app.delete_icon(id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn icon_is_uploaded_served_at_30_by_30_replaced_and_deleted() {
    let app = TestApp::spawn().await;
    icon_story(&app).await;
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn icon_is_uploaded_served_at_30_by_30_replaced_and_deleted_on_postgres() {
    let app = TestApp::spawn_postgres(
        "app_icons::icon_is_uploaded_served_at_30_by_30_replaced_and_deleted_on_postgres",
    )
    .await;
    icon_story(&app).await;
}

/// The server's own limit, well below an icon's: the icon route keeps its 5 MB.
const SMALL_SERVER_LIMIT: usize = 1024 * 1024;

#[tokio::test]
async fn icon_of_exactly_5_mb_is_accepted_and_one_byte_more_refused_whatever_the_server_limit() {
    let app = TestApp::spawn_with(|c| c.max_body_bytes = SMALL_SERVER_LIMIT).await;
    let id = app.new_app("App").await.app_id;
    let icon = disc(64);

    let at_limit = app
        .put_icon(id, "image/png", padded(&icon, MAX_ICON_BYTES))
        .await;
    at_limit.assert_status(200);
    assert_eq!(at_limit.int("originalBytes"), 5_242_880);
    assert_eq!(
        app.served_icon(id, None).await.decode().dimensions(),
        (30, 30)
    );

    let past = app
        .put_icon(id, "image/png", padded(&icon, MAX_ICON_BYTES + 1))
        .await;
    past.assert_api_error(400, "VALIDATION_ERROR");
    let error = past.error_in("icon");
    assert_eq!(error["code"], "TOO_LARGE");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("5242881") && message.contains("5242880"),
        "names the size and the limit: {message}"
    );
    // The icon of exactly 5 MB is still the one served.
    assert_eq!(app.served_icon(id, None).await.status, 200);

    // Every other route keeps the server's limit.
    let other = app
        .send(
            app.admin(Method::POST, "/admin/v1/accounts")
                .header(CONTENT_TYPE, "application/json")
                .body(vec![b' '; SMALL_SERVER_LIMIT + 1]),
        )
        .await;
    other.assert_api_error(413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn chunked_icon_past_5_mb_is_cut_off_and_refused_naming_the_limit() {
    let app = TestApp::spawn().await;
    let id = app.new_app("App").await.app_id;
    let body = padded(&disc(64), MAX_ICON_BYTES + 1);
    let mut request = format!(
        "PUT /admin/v1/apps/{id}/icon HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        crate::helpers::ADMIN_TOKEN,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    let response = raw_http(&app.address, &request).await;
    response.assert_status(400);
    assert_eq!(response.body["category"], "VALIDATION_ERROR");
    let message = response.error_in("icon")["message"].as_str().unwrap();
    assert!(message.contains("more than 5242880"), "{message}");
    app.served_icon_error(id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn aspect_ratios_of_0_8_and_1_25_are_accepted_and_just_past_them_refused() {
    let app = TestApp::spawn().await;
    let id = app.new_app("App").await.app_id;
    for (w, h) in [(100, 80), (80, 100)] {
        app.put_icon(id, "image/png", filled_except_corners(w, h, 0))
            .await
            .assert_status(200);
        let out = app.served_icon(id, None).await.decode();
        assert_eq!(
            out.dimensions(),
            (30, 30),
            "{w}×{h} is fitted into the square"
        );
    }
    for (w, h) in [(101, 80), (79, 100)] {
        let response = app
            .put_icon(id, "image/png", filled_except_corners(w, h, 0))
            .await;
        response.assert_api_error(400, "VALIDATION_ERROR");
        let error = response.error_in("icon");
        assert_eq!(error["code"], "NOT_SQUARE", "{w}×{h}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{w}×{h}"))
                && message.contains("0.80")
                && message.contains("1.25"),
            "{message}"
        );
    }
    let svg = |w: u32, h: u32| {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><circle cx="{}" cy="{}" r="4"/></svg>"#,
            w / 2,
            h / 2
        )
    };
    app.put_icon(id, "image/svg+xml", svg(125, 100).into())
        .await
        .assert_status(200);
    let response = app
        .put_icon(id, "image/svg+xml", svg(126, 100).into())
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(response.error_in("icon")["code"], "NOT_SQUARE");
}

#[tokio::test]
async fn icons_without_a_transparent_background_are_refused() {
    let app = TestApp::spawn().await;
    let id = app.new_app("App").await.app_id;
    let rgb = encode(image::RgbImage::from_fn(40, 40, |_, _| Rgb([9u8, 9, 9])).into());
    let opaque_svg = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#fff"/></svg>"##;
    for (description, content_type, bytes, named) in [
        (
            "a PNG without alpha channel",
            "image/png",
            rgb,
            "alpha channel",
        ),
        (
            "a corner of alpha 26",
            "image/png",
            filled_except_corners(40, 40, 26),
            "26",
        ),
        (
            "an SVG with a filled background",
            "image/svg+xml",
            opaque_svg.into(),
            "corner",
        ),
    ] {
        let response = app.put_icon(id, content_type, bytes).await;
        response.assert_api_error(400, "VALIDATION_ERROR");
        let error = response.error_in("icon");
        assert_eq!(error["code"], "NO_TRANSPARENT_BACKGROUND", "{description}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(named), "{description}: {message}");
    }
    // At the tolerance: a corner of alpha 25 counts as transparent.
    app.put_icon(id, "image/png", filled_except_corners(40, 40, 25))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn icons_that_do_not_decode_or_declare_too_many_pixels_are_refused() {
    let app = TestApp::spawn().await;
    let id = app.new_app("App").await.app_id;
    let icon = disc(32);
    for (description, content_type, bytes, code) in [
        (
            "text as PNG",
            "image/png",
            b"not an image".to_vec(),
            "INVALID_IMAGE",
        ),
        (
            "truncated PNG",
            "image/png",
            icon[..40].to_vec(),
            "INVALID_IMAGE",
        ),
        (
            "a PNG sent as SVG",
            "image/svg+xml",
            icon.clone(),
            "INVALID_IMAGE",
        ),
        (
            "broken XML",
            "image/svg+xml",
            b"<svg <".to_vec(),
            "INVALID_IMAGE",
        ),
        ("empty body", "image/png", Vec::new(), "REQUIRED"),
        (
            "4097 pixels wide",
            "image/png",
            declaring(&icon, 4097, 4097),
            "TOO_MANY_PIXELS",
        ),
    ] {
        let response = app.put_icon(id, content_type, bytes).await;
        response.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(response.error_in("icon")["code"], code, "{description}");
    }
    app.served_icon_error(id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn icons_of_another_media_type_are_415_with_hubspots_error_body() {
    let app = TestApp::spawn().await;
    let id = app.new_app("App").await.app_id;
    for content_type in ["image/jpeg", "application/json", "image/svg", "text/plain"] {
        let response = app.put_icon(id, content_type, disc(32)).await;
        response.assert_api_error(415, "VALIDATION_ERROR");
        let message = response.str("message");
        assert!(
            message.contains("image/png")
                && message.contains("image/svg+xml")
                && message.contains(content_type),
            "{content_type}: {message}"
        );
    }
    let response = app
        .send(
            app.admin(Method::PUT, &format!("/admin/v1/apps/{id}/icon"))
                .body(disc(32)),
        )
        .await;
    response.assert_api_error(415, "VALIDATION_ERROR");
}

#[tokio::test]
async fn icon_of_an_unknown_app_is_404_and_uploads_need_the_admin_token() {
    let app = TestApp::spawn().await;
    let response = app.put_icon(999_999, "image/png", disc(32)).await;
    response.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(
        response.str("message").contains("999999"),
        "{}",
        response.text
    );
    app.delete_icon(999_999)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    let id = app.new_app("App").await.app_id;
    let response = app
        .send(
            app.request(Method::PUT, &format!("/admin/v1/apps/{id}/icon"))
                .header(CONTENT_TYPE, "image/png")
                .body(disc(32)),
        )
        .await;
    response.assert_api_error(401, "INVALID_AUTHENTICATION");
    let response = app
        .send(app.request(Method::DELETE, &format!("/admin/v1/apps/{id}/icon")))
        .await;
    response.assert_api_error(401, "INVALID_AUTHENTICATION");
    app.served_icon_error(id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}
