//! `chronik admin …` against a running server: each command, `--json`, and errors.

use crate::{json, stderr, stdout, Server};

#[test]
fn admin_provisions_an_account_app_install_private_app_and_visitor() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let d = dir.path();

    let account = json(&server.admin(d, &["--json", "accounts", "create", "Acme"]));
    let portal = account["portalId"].as_i64().unwrap().to_string();
    assert_eq!(account["name"], "Acme");

    let app = json(&server.admin(d, &["--json", "apps", "create", "Timeline app"]));
    for key in ["appId", "developerApiKey", "clientId", "clientSecret"] {
        assert!(
            app[key]
                .as_str()
                .map(|s| !s.is_empty())
                .unwrap_or(app[key].is_i64()),
            "{key}: {app}"
        );
    }
    let app_id = app["appId"].to_string();

    let install = json(&server.admin(
        d,
        &[
            "--json",
            "installs",
            "create",
            "--app-id",
            &app_id,
            "--portal-id",
            &portal,
            "--scope",
            "timeline,oauth",
        ],
    ));
    assert_eq!(install["scopes"], serde_json::json!(["oauth", "timeline"]));
    assert!(install["accessToken"].as_str().unwrap().len() > 20);
    assert_eq!(install["expiresIn"], 1800);

    let private = json(&server.admin(
        d,
        &[
            "--json",
            "private-apps",
            "create",
            "--portal-id",
            &portal,
            "--name",
            "sync",
            "--scope",
            "crm.objects.contacts.read",
        ],
    ));
    assert!(private["token"].as_str().unwrap().starts_with("pat-na1-"));

    let code = json(&server.admin(
        d,
        &[
            "--json",
            "authorization-codes",
            "create",
            "--app-id",
            &app_id,
            "--portal-id",
            &portal,
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "oauth",
        ],
    ));
    assert_eq!(code["redirectUri"], "https://app.example/cb");

    let visitor = json(&server.admin(
        d,
        &[
            "--json",
            "visitors",
            "link",
            "--portal-id",
            &portal,
            "--utk",
            "abc123",
            "--email",
            "Ada@Example.com",
        ],
    ));
    assert_eq!(visitor["contactCreated"], true);
    let again = json(&server.admin(
        d,
        &[
            "--json",
            "visitors",
            "link",
            "--portal-id",
            &portal,
            "--utk",
            "def456",
            "--email",
            "ada@example.com",
        ],
    ));
    assert_eq!(again["contactId"], visitor["contactId"]);
    assert_eq!(again["contactCreated"], false);

    let reset = server.admin(d, &["reset", "--portal-id", &portal]);
    assert!(reset.status.success(), "{}", stderr(&reset));
    assert!(stdout(&reset).contains(&format!("account {portal} reset")));

    let list = server.admin(d, &["accounts", "list"]);
    assert_eq!(stdout(&list).trim(), format!("{portal}\tAcme"));
}

#[test]
fn human_output_is_one_field_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let out = server.admin(dir.path(), &["accounts", "create", "Globex"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.lines().any(|l| l.starts_with("portalId: ")), "{text}");
    assert!(text.contains("name: Globex"), "{text}");
}

#[test]
fn server_errors_exit_non_zero_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let long = "x".repeat(201);
    let out = server.admin(dir.path(), &["accounts", "create", &long]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("400"), "{err}");
    assert!(
        err.contains("name") && err.contains("201") && err.contains("200"),
        "{err}"
    );

    let out = server.admin(
        dir.path(),
        &[
            "private-apps",
            "create",
            "--portal-id",
            "999",
            "--name",
            "x",
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
}

#[test]
fn wrong_admin_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let out = crate::chronik()
        .args([
            "admin",
            "--url",
            &server.url,
            "--admin-token",
            "wrong",
            "accounts",
            "list",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
}

#[test]
fn unreachable_server_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::chronik()
        .args([
            "admin",
            "--url",
            "http://127.0.0.1:9",
            "--admin-token",
            "t",
            "accounts",
            "list",
        ])
        .arg("--data")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is `chronik serve` running?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn accounts_time_zone_sets_the_zone_and_refuses_an_unknown_one_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let d = dir.path();
    let account = json(&server.admin(d, &["--json", "accounts", "create", "Acme"]));
    assert_eq!(account["timeZone"], "UTC");
    let portal = account["portalId"].as_i64().unwrap().to_string();

    let out = server.admin(d, &["accounts", "time-zone", &portal, "Europe/Berlin"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("timeZone: Europe/Berlin"), "{text}");
    assert!(text.contains(&format!("portalId: {portal}")), "{text}");

    let set = json(&server.admin(
        d,
        &["--json", "accounts", "time-zone", &portal, "Asia/Tokyo"],
    ));
    assert_eq!(set["timeZone"], "Asia/Tokyo");
    let read = json(&server.admin(d, &["--json", "accounts", "get", &portal]));
    assert_eq!(read["timeZone"], "Asia/Tokyo");

    let out = server.admin(d, &["accounts", "time-zone", &portal, "Mars/Base"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("400") && err.contains("timeZone") && err.contains("Mars/Base"),
        "{err}"
    );
    let read = json(&server.admin(d, &["--json", "accounts", "get", &portal]));
    assert_eq!(
        read["timeZone"], "Asia/Tokyo",
        "a refused zone changes nothing"
    );
}

/// A PNG of a red square on a transparent background.
fn icon_png(opaque_background: bool) -> Vec<u8> {
    let pixels = image::RgbaImage::from_fn(40, 40, |x, y| {
        let inside = (10..30).contains(&x) && (10..30).contains(&y);
        if inside || opaque_background {
            image::Rgba([200, 30, 40, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let mut out = Vec::new();
    pixels
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[test]
fn apps_icon_uploads_a_png_or_svg_by_extension_or_contents() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let d = dir.path();
    let app = json(&server.admin(d, &["--json", "apps", "create", "Timeline app"]));
    let app_id = app["appId"].to_string();

    let svg = d.join("logo.SVG");
    std::fs::write(
        &svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#c81e28"/></svg>"##,
    )
    .unwrap();
    let out = server.admin(d, &["apps", "icon", &app_id, svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("contentType: image/svg+xml"), "{text}");
    assert!(
        text.contains(&format!("iconUrl: /apps/{app_id}/icon")),
        "{text}"
    );

    // No extension: the bytes say PNG.
    let png = d.join("logo");
    let bytes = icon_png(false);
    std::fs::write(&png, &bytes).unwrap();
    let set = json(&server.admin(
        d,
        &["--json", "apps", "icon", &app_id, png.to_str().unwrap()],
    ));
    assert_eq!(set["contentType"], "image/png");
    assert_eq!(set["originalBytes"], bytes.len());
    assert_eq!(
        (set["width"].as_i64(), set["height"].as_i64()),
        (Some(30), Some(30))
    );
}

#[test]
fn apps_icon_reports_the_rule_a_file_breaks_and_files_it_cannot_send() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let d = dir.path();
    let app = json(&server.admin(d, &["--json", "apps", "create", "Timeline app"]));
    let app_id = app["appId"].to_string();

    let opaque = d.join("opaque.png");
    std::fs::write(&opaque, icon_png(true)).unwrap();
    let out = server.admin(d, &["apps", "icon", &app_id, opaque.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("400") && err.contains("icon:") && err.contains("transparent background"),
        "{err}"
    );

    let text = d.join("notes.txt");
    std::fs::write(&text, "just words").unwrap();
    let out = server.admin(d, &["apps", "icon", &app_id, text.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("neither a PNG nor an SVG"),
        "{}",
        stderr(&out)
    );

    let missing = d.join("missing.png");
    let out = server.admin(d, &["apps", "icon", &app_id, missing.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("could not read the icon file"),
        "{}",
        stderr(&out)
    );
}
