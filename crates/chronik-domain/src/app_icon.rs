//! App icons (seed: timeline events v3, "setting up a custom icon"): the image shown beside an
//! app's timeline events. The seed asks for an image that is roughly square, has a transparent
//! background, keeps its content in the middle, scales down to 30×30 pixels and is at most 5 MB.
//! [`prepare_icon`] checks every rule a machine can check and makes the 30×30 PNG that cards
//! show; whether the content sits in the middle is left to the designer.
//!
//! Two formats are taken, PNG and SVG ([`IconFormat`]). An SVG is never served as uploaded, as it
//! could carry script: it is rasterized here, with references to files or URLs ignored (only
//! images embedded as `data:` URLs are read, and of those only nested SVGs are drawn) and no
//! text drawn (no fonts are loaded), so an icon's text has to be converted to paths.
//!
//! The server calls [`prepare_icon`] on the blocking pool (decoding is CPU work) and stores the
//! upload with the rendition (`chronik-store`'s `set_app_icon`); the CLI uses
//! [`IconFormat::sniff`] and [`IconFormat::from_extension`] to label a file it uploads.

use std::io::Cursor;

use image::imageops::{self, FilterType};
use image::{ColorType, ImageDecoder, ImageFormat, ImageReader, Limits, RgbaImage};
use resvg::{tiny_skia, usvg};

use crate::error::{DomainError, ValidationError};

/// Seed (timeline events v3, custom icon): an icon file is at most 5 MB, counted in binary
/// megabytes.
pub const MAX_ICON_BYTES: usize = 5 * 1024 * 1024;

/// Seed (timeline events v3, custom icon): an icon must scale down to 30×30 pixels, the size
/// cards show it at; the rendition is exactly that square.
pub const ICON_RENDITION_SIDE_PX: u32 = 30;

/// "Roughly square" (seed): the longer side may be at most 5/4 of the shorter, so the aspect
/// ratio width / height lies within 0.8..=1.25. Numerator and denominator, so that the check
/// is exact in integers.
pub const MAX_ICON_ASPECT_RATIO: (u32, u32) = (5, 4);

/// The widest and tallest PNG decoded, in pixels: a PNG of a few kilobytes can declare any
/// size, and decoding one this large already takes 64 MiB. Cards show 30 pixels; 4096 leaves
/// room for any artwork an icon is exported from.
pub const MAX_ICON_SIDE_PX: u32 = 4096;

/// The most opaque a corner pixel of a "transparent background" (seed) may be: 25 of 255, under
/// 10 % coverage, so that anti-aliasing or a faint shadow reaching a corner passes while a
/// filled background (a corner of alpha 255, or a PNG without an alpha channel) does not.
pub const MAX_ICON_CORNER_ALPHA: u8 = 25;

/// The side of the square an SVG is rasterized into to check its corners (its own aspect ratio
/// kept): large enough that a corner pixel is a corner of the picture, not of its content.
pub const SVG_CHECK_SIDE_PX: u32 = 64;

/// The field problems with an icon are reported on (the request body).
pub const ICON_FIELD: &str = "icon";

/// The formats an icon is accepted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconFormat {
    /// `image/png`.
    Png,
    /// `image/svg+xml`, rasterized before it is shown.
    Svg,
}

impl IconFormat {
    /// The format a `Content-Type` names (parameters such as `charset` and the case are
    /// ignored); `None` for anything but PNG and SVG.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("image/png") {
            Some(IconFormat::Png)
        } else if essence.eq_ignore_ascii_case("image/svg+xml") {
            Some(IconFormat::Svg)
        } else {
            None
        }
    }

    /// The format a file name's extension names (`.png`, `.svg`, any case).
    pub fn from_extension(extension: &str) -> Option<Self> {
        if extension.eq_ignore_ascii_case("png") {
            Some(IconFormat::Png)
        } else if extension.eq_ignore_ascii_case("svg") {
            Some(IconFormat::Svg)
        } else {
            None
        }
    }

    /// The format the bytes look like: PNG's signature, or XML text whose first element is
    /// `<svg` (after an optional byte order mark, XML declaration, comments and doctype).
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
        if bytes.starts_with(PNG_SIGNATURE) {
            return Some(IconFormat::Png);
        }
        let head = &bytes[..bytes.len().min(4096)];
        let text = String::from_utf8_lossy(head);
        let mut rest = text.trim_start_matches('\u{feff}').trim_start();
        // Skip the prolog: declarations, processing instructions, comments, the doctype.
        while let Some(after) = rest.strip_prefix('<') {
            if after.starts_with("svg") {
                return Some(IconFormat::Svg);
            }
            let end = if after.starts_with("!--") {
                after.find("-->").map(|i| i + 3)
            } else if after.starts_with('?') || after.starts_with('!') {
                after.find('>').map(|i| i + 1)
            } else {
                None
            }?;
            rest = after[end..].trim_start();
        }
        None
    }

    /// The media type it is served and stored as.
    pub fn content_type(self) -> &'static str {
        match self {
            IconFormat::Png => "image/png",
            IconFormat::Svg => "image/svg+xml",
        }
    }
}

fn problem(code: &'static str, message: String) -> ValidationError {
    ValidationError::new(ICON_FIELD, code, message)
}

fn invalid(errors: Vec<ValidationError>) -> DomainError {
    DomainError::Invalid(errors)
}

/// `TOO_LARGE` when an icon of `bytes` bytes is over [`MAX_ICON_BYTES`]: what
/// [`prepare_icon`] checks first, and what the server checks a declared `Content-Length`
/// against before it reads a body.
pub fn check_icon_size(bytes: u64) -> Result<(), DomainError> {
    if bytes > MAX_ICON_BYTES as u64 {
        return Err(too_large(&bytes.to_string()));
    }
    Ok(())
}

/// `TOO_LARGE` for a body that was cut off at the limit while it arrived (its length unknown).
pub fn icon_over_size_limit() -> DomainError {
    too_large(&format!("more than {MAX_ICON_BYTES}"))
}

fn too_large(bytes: &str) -> DomainError {
    invalid(vec![problem(
        "TOO_LARGE",
        format!(
            "the icon has {bytes} bytes; an icon may have at most {MAX_ICON_BYTES} bytes (5 MB)"
        ),
    )])
}

/// Checks an uploaded icon against the seed's rules and returns its 30×30 PNG rendition (the
/// picture scaled to fit, its aspect ratio kept, centred on a transparent square).
///
/// Refused, each naming the rule: more than [`MAX_ICON_BYTES`] (`TOO_LARGE`, before anything is
/// decoded); bytes that do not decode as `format` (`INVALID_IMAGE`); a PNG wider or taller than
/// [`MAX_ICON_SIDE_PX`] (`TOO_MANY_PIXELS`); not roughly square ([`MAX_ICON_ASPECT_RATIO`],
/// `NOT_SQUARE`); no transparent background (a PNG without an alpha channel, or a corner pixel
/// more opaque than [`MAX_ICON_CORNER_ALPHA`]; `NO_TRANSPARENT_BACKGROUND`). The last two are
/// reported together.
pub fn prepare_icon(format: IconFormat, bytes: &[u8]) -> Result<Vec<u8>, DomainError> {
    check_icon_size(bytes.len() as u64)?;
    if bytes.is_empty() {
        return Err(invalid(vec![problem(
            "REQUIRED",
            "the icon is empty; send the image file as the request body".to_owned(),
        )]));
    }
    let picture = match format {
        IconFormat::Png => decode_png(bytes)?,
        IconFormat::Svg => decode_svg(bytes)?,
    };
    let mut problems = Vec::new();
    if let Some(p) = aspect_problem(picture.width(), picture.height()) {
        problems.push(p);
    }
    if let Some(p) = picture.background_problem() {
        problems.push(p);
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    Ok(encode_png(&picture.rendition()))
}

/// A decoded icon, ready to be checked and scaled.
enum Picture {
    /// Straight (not premultiplied) RGBA, and whether the PNG had an alpha channel at all.
    Raster { pixels: RgbaImage, color: ColorType },
    /// A parsed SVG and its size in user units.
    Vector(Box<usvg::Tree>),
}

impl Picture {
    fn width(&self) -> f64 {
        match self {
            Picture::Raster { pixels, .. } => f64::from(pixels.width()),
            Picture::Vector(tree) => f64::from(tree.size().width()),
        }
    }

    fn height(&self) -> f64 {
        match self {
            Picture::Raster { pixels, .. } => f64::from(pixels.height()),
            Picture::Vector(tree) => f64::from(tree.size().height()),
        }
    }

    fn background_problem(&self) -> Option<ValidationError> {
        match self {
            Picture::Raster { color, .. } if !color.has_alpha() => Some(problem(
                "NO_TRANSPARENT_BACKGROUND",
                format!(
                    "the PNG has no alpha channel (color type {color:?}); an icon needs a transparent background"
                ),
            )),
            Picture::Raster { pixels, .. } => corner_problem(pixels),
            Picture::Vector(tree) => {
                let (w, h) = fit(tree.size().width(), tree.size().height(), SVG_CHECK_SIDE_PX);
                corner_problem(&rasterize(tree, w, h))
            }
        }
    }

    fn rendition(&self) -> RgbaImage {
        let side = ICON_RENDITION_SIDE_PX;
        match self {
            Picture::Raster { pixels, .. } => {
                let (w, h) = fit(pixels.width() as f32, pixels.height() as f32, side);
                let scaled = scale_raster(pixels, w, h);
                let mut canvas = RgbaImage::new(side, side);
                imageops::replace(
                    &mut canvas,
                    &scaled,
                    i64::from((side - w) / 2),
                    i64::from((side - h) / 2),
                );
                canvas
            }
            Picture::Vector(tree) => rasterize(tree, side, side),
        }
    }
}

fn decode_png(bytes: &[u8]) -> Result<Picture, DomainError> {
    let undecodable = |e: &dyn std::fmt::Display| {
        invalid(vec![problem(
            "INVALID_IMAGE",
            format!(
                "the icon is not a PNG image that can be decoded ({e}); send a PNG or an SVG file"
            ),
        )])
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Png);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_ICON_SIDE_PX);
    limits.max_image_height = Some(MAX_ICON_SIDE_PX);
    reader.limits(limits);
    // The header first: a size past the limit is refused without decoding a pixel.
    let decoder = match reader.into_decoder() {
        Ok(decoder) => decoder,
        Err(image::ImageError::Limits(_)) => return Err(too_many_pixels(bytes)),
        Err(e) => return Err(undecodable(&e)),
    };
    let color = decoder.color_type();
    let (width, height) = decoder.dimensions();
    if width > MAX_ICON_SIDE_PX || height > MAX_ICON_SIDE_PX {
        return Err(too_many_pixels(bytes));
    }
    let pixels = image::DynamicImage::from_decoder(decoder)
        .map_err(|e| undecodable(&e))?
        .into_rgba8();
    Ok(Picture::Raster { pixels, color })
}

/// `TOO_MANY_PIXELS`, naming the size the PNG's header declares.
fn too_many_pixels(bytes: &[u8]) -> DomainError {
    let declared = png_header_size(bytes)
        .map(|(w, h)| format!("{w}×{h} pixels"))
        .unwrap_or_else(|| "more pixels than allowed".to_owned());
    invalid(vec![problem(
        "TOO_MANY_PIXELS",
        format!(
            "the PNG is {declared}; an icon may be at most {MAX_ICON_SIDE_PX}×{MAX_ICON_SIDE_PX} pixels (it is shown at {ICON_RENDITION_SIDE_PX}×{ICON_RENDITION_SIDE_PX})"
        ),
    )])
}

/// Width and height from a PNG's IHDR chunk, which follows the 8-byte signature.
fn png_header_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let ihdr = bytes.get(8..24)?;
    if &ihdr[4..8] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(ihdr[8..12].try_into().ok()?);
    let h = u32::from_be_bytes(ihdr[12..16].try_into().ok()?);
    Some((w, h))
}

fn decode_svg(bytes: &[u8]) -> Result<Picture, DomainError> {
    let mut options = usvg::Options::default();
    // Never read a file (or anything else) an `<image href>` names: the upload is all there is.
    options.image_href_resolver.resolve_string = Box::new(|_, _| None);
    let tree = usvg::Tree::from_data(bytes, &options).map_err(|e| {
        invalid(vec![problem(
            "INVALID_IMAGE",
            format!(
                "the icon is not an SVG image that can be read ({e}); send a PNG or an SVG file"
            ),
        )])
    })?;
    Ok(Picture::Vector(Box::new(tree)))
}

/// `NOT_SQUARE` unless width / height lies within 0.8..=1.25 ([`MAX_ICON_ASPECT_RATIO`]).
fn aspect_problem(width: f64, height: f64) -> Option<ValidationError> {
    let (num, den) = MAX_ICON_ASPECT_RATIO;
    let (num, den) = (f64::from(num), f64::from(den));
    let square_enough = width * den <= height * num && height * den <= width * num;
    (!square_enough).then(|| {
        problem(
            "NOT_SQUARE",
            format!(
                "the icon is {width}×{height} (aspect ratio {:.3}); an icon must be roughly square, with an aspect ratio from {:.2} to {:.2}",
                width / height,
                den / num,
                num / den
            ),
        )
    })
}

/// `NO_TRANSPARENT_BACKGROUND` naming the first corner more opaque than
/// [`MAX_ICON_CORNER_ALPHA`].
fn corner_problem(pixels: &RgbaImage) -> Option<ValidationError> {
    let (w, h) = pixels.dimensions();
    if w == 0 || h == 0 {
        return None;
    }
    let corners = [
        ("top-left", 0, 0),
        ("top-right", w - 1, 0),
        ("bottom-left", 0, h - 1),
        ("bottom-right", w - 1, h - 1),
    ];
    corners.iter().find_map(|&(name, x, y)| {
        let alpha = pixels.get_pixel(x, y)[3];
        (alpha > MAX_ICON_CORNER_ALPHA).then(|| {
            problem(
                "NO_TRANSPARENT_BACKGROUND",
                format!(
                    "the icon's {name} corner pixel has alpha {alpha} of 255; an icon needs a transparent background, with every corner at most {MAX_ICON_CORNER_ALPHA}"
                ),
            )
        })
    })
}

/// The size that fits `width`×`height` into a `side` square, aspect ratio kept, each side at
/// least one pixel.
fn fit(width: f32, height: f32, side: u32) -> (u32, u32) {
    let scale = side as f32 / width.max(height);
    let w = ((width * scale).round() as u32).clamp(1, side);
    let h = ((height * scale).round() as u32).clamp(1, side);
    (w, h)
}

/// Scales straight RGBA to `w`×`h`, averaging premultiplied colours so that the colour of fully
/// transparent pixels never bleeds into the edges.
fn scale_raster(pixels: &RgbaImage, w: u32, h: u32) -> RgbaImage {
    let mut premultiplied = pixels.clone();
    for p in premultiplied.pixels_mut() {
        let a = u16::from(p[3]);
        for c in &mut p.0[..3] {
            *c = ((u16::from(*c) * a + 127) / 255) as u8;
        }
    }
    let mut scaled = if pixels.width() >= w && pixels.height() >= h {
        // Downscaling: every source pixel counts once (fast, and no aliasing at large factors).
        imageops::thumbnail(&premultiplied, w, h)
    } else {
        imageops::resize(&premultiplied, w, h, FilterType::CatmullRom)
    };
    for p in scaled.pixels_mut() {
        let a = u16::from(p[3]);
        for c in &mut p.0[..3] {
            *c = (u16::from(*c) * 255 + a / 2)
                .checked_div(a)
                .map_or(0, |v| v.min(255) as u8);
        }
    }
    scaled
}

/// Draws the SVG into a transparent `w`×`h` canvas, scaled to fit and centred.
fn rasterize(tree: &usvg::Tree, w: u32, h: u32) -> RgbaImage {
    let Some(mut pixmap) = tiny_skia::Pixmap::new(w, h) else {
        return RgbaImage::new(w, h);
    };
    let size = tree.size();
    let scale = (w as f32 / size.width()).min(h as f32 / size.height());
    let dx = (w as f32 - size.width() * scale) / 2.0;
    let dy = (h as f32 - size.height() * scale) / 2.0;
    let transform = tiny_skia::Transform::from_row(scale, 0.0, 0.0, scale, dx, dy);
    resvg::render(tree, transform, &mut pixmap.as_mut());
    let mut out = RgbaImage::new(w, h);
    for (target, source) in out.pixels_mut().zip(pixmap.pixels()) {
        let c = source.demultiply();
        *target = image::Rgba([c.red(), c.green(), c.blue(), c.alpha()]);
    }
    out
}

fn encode_png(pixels: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    pixels
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("an RGBA image encodes as PNG into memory");
    out
}

#[cfg(test)]
mod tests;
