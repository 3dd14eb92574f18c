//! The icon rules at and past each limit, on images made here.

use image::{DynamicImage, ImageBuffer, Rgb, Rgba, RgbaImage};

use super::*;

/// A PNG of `w`×`h` whose pixels `paint` gives.
fn png(w: u32, h: u32, paint: impl Fn(u32, u32) -> Rgba<u8>) -> Vec<u8> {
    let pixels = RgbaImage::from_fn(w, h, paint);
    let mut out = Vec::new();
    pixels
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

const RED: Rgba<u8> = Rgba([200, 30, 40, 255]);
const CLEAR: Rgba<u8> = Rgba([0, 0, 0, 0]);

/// An icon as the seed wants it: a red disc centred on a transparent background.
fn disc(w: u32, h: u32) -> Vec<u8> {
    png(w, h, |x, y| {
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let r = w.min(h) as f32 * 0.4;
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        if dx * dx + dy * dy <= r * r {
            RED
        } else {
            CLEAR
        }
    })
}

/// Opaque red everywhere except the four corner pixels, which have `corner_alpha`.
fn filled_except_corners(w: u32, h: u32, corner_alpha: u8) -> Vec<u8> {
    png(w, h, |x, y| {
        let corner = (x == 0 || x == w - 1) && (y == 0 || y == h - 1);
        if corner {
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

/// `icon` grown to exactly `len` bytes by a private ancillary chunk before IEND, which decoders
/// skip: a valid icon of any size.
fn padded(icon: &[u8], len: usize) -> Vec<u8> {
    let iend = icon.len() - 12;
    let payload = len - icon.len() - 12;
    let mut chunk = Vec::with_capacity(payload + 12);
    chunk.extend_from_slice(&(payload as u32).to_be_bytes());
    let mut body = b"prVt".to_vec();
    body.resize(4 + payload, 0);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    let mut out = icon[..iend].to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&icon[iend..]);
    assert_eq!(out.len(), len);
    out
}

/// `icon` with the size in its IHDR changed to `w`×`h` (and the chunk's CRC fixed): a header
/// that declares a size without the pixels.
fn declaring(icon: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = icon.to_vec();
    out[16..20].copy_from_slice(&w.to_be_bytes());
    out[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&out[12..29]);
    out[29..33].copy_from_slice(&crc.to_be_bytes());
    out
}

fn refused(result: Result<Vec<u8>, DomainError>) -> Vec<ValidationError> {
    match result {
        Err(DomainError::Invalid(errors)) => errors,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn codes(errors: &[ValidationError]) -> Vec<&'static str> {
    errors.iter().map(|e| e.code).collect()
}

fn decode(rendition: &[u8]) -> RgbaImage {
    image::load_from_memory_with_format(rendition, ImageFormat::Png)
        .unwrap()
        .into_rgba8()
}

#[test]
fn a_disc_on_a_transparent_square_becomes_a_30_by_30_png() {
    let rendition = prepare_icon(IconFormat::Png, &disc(200, 200)).unwrap();
    let out = decode(&rendition);
    assert_eq!(out.dimensions(), (30, 30));
    assert_eq!(
        out.get_pixel(0, 0)[3],
        0,
        "the background stays transparent"
    );
    assert_eq!(out.get_pixel(29, 29)[3], 0);
    assert_eq!(*out.get_pixel(15, 15), RED, "the disc is in the middle");
}

#[test]
fn icon_of_exactly_5_mb_is_accepted_and_one_byte_more_is_refused_naming_the_limit() {
    let icon = disc(64, 64);
    let at_limit = padded(&icon, MAX_ICON_BYTES);
    assert_eq!(at_limit.len(), 5_242_880);
    let rendition = prepare_icon(IconFormat::Png, &at_limit).unwrap();
    assert_eq!(decode(&rendition).dimensions(), (30, 30));

    let past = padded(&icon, MAX_ICON_BYTES + 1);
    let errors = refused(prepare_icon(IconFormat::Png, &past));
    assert_eq!(codes(&errors), ["TOO_LARGE"]);
    assert_eq!(errors[0].field, "icon");
    assert!(
        errors[0].message.contains("5242881") && errors[0].message.contains("5242880"),
        "names the size and the limit: {}",
        errors[0].message
    );
}

#[test]
fn aspect_ratios_of_1_25_and_0_8_are_accepted_and_just_past_them_refused() {
    for (w, h) in [(100, 80), (80, 100), (100, 100), (90, 100)] {
        let result = prepare_icon(IconFormat::Png, &filled_except_corners(w, h, 0));
        assert!(result.is_ok(), "{w}×{h}: {result:?}");
    }
    for (w, h, ratio) in [(101, 80, "1.262"), (79, 100, "0.790")] {
        let errors = refused(prepare_icon(
            IconFormat::Png,
            &filled_except_corners(w, h, 0),
        ));
        assert_eq!(codes(&errors), ["NOT_SQUARE"], "{w}×{h}");
        let message = &errors[0].message;
        assert!(
            message.contains(&format!("{w}×{h}"))
                && message.contains(ratio)
                && message.contains("0.80")
                && message.contains("1.25"),
            "names the size, the ratio and the bounds: {message}"
        );
    }
}

#[test]
fn a_png_without_alpha_channel_is_refused() {
    let rgb = ImageBuffer::from_fn(40, 40, |_, _| Rgb([10u8, 20, 30]));
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(rgb)
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    let errors = refused(prepare_icon(IconFormat::Png, &bytes));
    assert_eq!(codes(&errors), ["NO_TRANSPARENT_BACKGROUND"]);
    assert!(
        errors[0].message.contains("alpha channel"),
        "{}",
        errors[0].message
    );
}

#[test]
fn corner_alpha_of_25_is_accepted_and_26_refused_naming_the_corner() {
    assert!(prepare_icon(IconFormat::Png, &filled_except_corners(40, 40, 25)).is_ok());
    let errors = refused(prepare_icon(
        IconFormat::Png,
        &filled_except_corners(40, 40, 26),
    ));
    assert_eq!(codes(&errors), ["NO_TRANSPARENT_BACKGROUND"]);
    let message = &errors[0].message;
    assert!(
        message.contains("top-left") && message.contains("26") && message.contains("25"),
        "{message}"
    );
    // One opaque corner is enough.
    let one = png(40, 40, |x, y| if (x, y) == (39, 39) { RED } else { CLEAR });
    let errors = refused(prepare_icon(IconFormat::Png, &one));
    assert!(errors[0].message.contains("bottom-right"), "{errors:?}");
}

#[test]
fn not_square_and_opaque_are_reported_together() {
    let errors = refused(prepare_icon(IconFormat::Png, &png(60, 30, |_, _| RED)));
    assert_eq!(codes(&errors), ["NOT_SQUARE", "NO_TRANSPARENT_BACKGROUND"]);
}

#[test]
fn bytes_that_do_not_decode_are_refused() {
    let icon = disc(40, 40);
    for (description, format, bytes) in [
        ("text as PNG", IconFormat::Png, b"hello, world".to_vec()),
        (
            "truncated PNG",
            IconFormat::Png,
            icon[..icon.len() / 2].to_vec(),
        ),
        (
            "an SVG sent as PNG",
            IconFormat::Png,
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
        ),
        ("a PNG sent as SVG", IconFormat::Svg, icon.clone()),
        ("not XML", IconFormat::Svg, b"<svg <<".to_vec()),
        (
            "XML but not SVG",
            IconFormat::Svg,
            b"<html></html>".to_vec(),
        ),
    ] {
        let errors = refused(prepare_icon(format, &bytes));
        assert_eq!(codes(&errors), ["INVALID_IMAGE"], "{description}");
    }
    let errors = refused(prepare_icon(IconFormat::Png, b""));
    assert_eq!(codes(&errors), ["REQUIRED"]);
}

#[test]
fn a_header_wider_than_4096_pixels_is_refused_before_decoding() {
    let icon = disc(32, 32);
    for (w, h) in [(4097, 4097), (4097, 4000), (4000, 4097)] {
        let errors = refused(prepare_icon(IconFormat::Png, &declaring(&icon, w, h)));
        assert_eq!(codes(&errors), ["TOO_MANY_PIXELS"], "{w}×{h}");
        let message = &errors[0].message;
        assert!(
            message.contains(&format!("{w}×{h}")) && message.contains("4096×4096"),
            "{message}"
        );
    }
    // At the limit the header passes; these bytes then lack the pixels it declares.
    let errors = refused(prepare_icon(IconFormat::Png, &declaring(&icon, 4096, 4096)));
    assert_eq!(codes(&errors), ["INVALID_IMAGE"]);
}

#[test]
fn a_png_of_4096_by_4096_pixels_is_accepted() {
    let rendition = prepare_icon(IconFormat::Png, &disc(4096, 4096)).unwrap();
    let out = decode(&rendition);
    assert_eq!(out.dimensions(), (30, 30));
    assert_eq!(*out.get_pixel(15, 15), RED);
}

#[test]
fn a_wide_icon_is_centred_and_its_edges_keep_their_colour() {
    // 100×80 fits as 30×24, three transparent rows above and below.
    let rendition = prepare_icon(IconFormat::Png, &filled_except_corners(100, 80, 0)).unwrap();
    let out = decode(&rendition);
    assert_eq!(out.dimensions(), (30, 30));
    for y in [0, 2, 27, 29] {
        assert_eq!(out.get_pixel(15, y)[3], 0, "row {y} is outside the picture");
    }
    for y in [3, 15, 26] {
        // Averaging straight alpha would darken pixels next to the transparent ones.
        assert_eq!(*out.get_pixel(15, y), RED, "row {y} is inside the picture");
    }
}

#[test]
fn a_small_icon_is_scaled_up() {
    let out = decode(&prepare_icon(IconFormat::Png, &disc(10, 10)).unwrap());
    assert_eq!(out.dimensions(), (30, 30));
    assert_eq!(out.get_pixel(15, 15)[3], 255);
    assert_eq!(out.get_pixel(0, 0)[3], 0);
}

const SVG_DISC: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
  <script>alert(1)</script>
  <circle cx="32" cy="32" r="24" fill="#c81e28"/>
</svg>"##;

#[test]
fn an_svg_is_rasterized_to_30_by_30() {
    let out = decode(&prepare_icon(IconFormat::Svg, SVG_DISC.as_bytes()).unwrap());
    assert_eq!(out.dimensions(), (30, 30));
    assert_eq!(*out.get_pixel(15, 15), Rgba([0xc8, 0x1e, 0x28, 255]));
    assert_eq!(out.get_pixel(0, 0)[3], 0);
    assert_eq!(out.get_pixel(29, 0)[3], 0);
}

#[test]
fn an_svg_with_a_filled_background_is_refused() {
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">
      <rect width="10" height="10" fill="#fff"/><circle cx="5" cy="5" r="3"/></svg>"##;
    let errors = refused(prepare_icon(IconFormat::Svg, svg.as_bytes()));
    assert_eq!(codes(&errors), ["NO_TRANSPARENT_BACKGROUND"]);
}

#[test]
fn svg_aspect_ratios_are_checked_on_its_size() {
    let svg = |w: u32, h: u32| {
        format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><circle cx="{}" cy="{}" r="5"/></svg>"##,
            w / 2,
            h / 2
        )
    };
    assert!(prepare_icon(IconFormat::Svg, svg(125, 100).as_bytes()).is_ok());
    assert!(prepare_icon(IconFormat::Svg, svg(100, 125).as_bytes()).is_ok());
    for (w, h) in [(126, 100), (100, 126)] {
        let errors = refused(prepare_icon(IconFormat::Svg, svg(w, h).as_bytes()));
        assert_eq!(codes(&errors), ["NOT_SQUARE"], "{w}×{h}");
    }
}

#[test]
fn an_svg_never_reads_the_files_it_names() {
    // A PNG on disk that an `<image href>` points at: drawn, it would fill the icon.
    let dir = std::env::temp_dir().join(format!("chronik-icon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("opaque.png");
    std::fs::write(&path, png(8, 8, |_, _| RED)).unwrap();
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><image href="{}" width="8" height="8"/><circle cx="4" cy="4" r="2"/></svg>"##,
        path.display()
    );
    let out = decode(&prepare_icon(IconFormat::Svg, svg.as_bytes()).unwrap());
    assert_eq!(out.get_pixel(0, 0)[3], 0, "the file was not drawn");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn formats_are_named_by_content_type_extension_or_bytes() {
    assert_eq!(
        IconFormat::from_content_type("image/png"),
        Some(IconFormat::Png)
    );
    assert_eq!(
        IconFormat::from_content_type("IMAGE/SVG+XML; charset=utf-8"),
        Some(IconFormat::Svg)
    );
    for other in [
        "image/jpeg",
        "image/svg",
        "application/json",
        "",
        "image/png+x",
    ] {
        assert_eq!(IconFormat::from_content_type(other), None, "{other}");
    }
    assert_eq!(IconFormat::from_extension("PNG"), Some(IconFormat::Png));
    assert_eq!(IconFormat::from_extension("svg"), Some(IconFormat::Svg));
    assert_eq!(IconFormat::from_extension("jpg"), None);

    assert_eq!(IconFormat::sniff(&disc(4, 4)), Some(IconFormat::Png));
    assert_eq!(
        IconFormat::sniff(SVG_DISC.as_bytes()),
        Some(IconFormat::Svg)
    );
    let with_prolog = "\u{feff}<?xml version=\"1.0\"?>\n<!-- made by hand -->\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x.dtd\">\n<svg/>";
    assert_eq!(
        IconFormat::sniff(with_prolog.as_bytes()),
        Some(IconFormat::Svg)
    );
    for other in [
        &b"GIF89a"[..],
        b"<html><svg/></html>",
        b"",
        b"<!-- unterminated",
    ] {
        assert_eq!(IconFormat::sniff(other), None, "{other:?}");
    }
}
