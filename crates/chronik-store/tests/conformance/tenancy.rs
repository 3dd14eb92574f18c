//! Tenancy cases: accounts, apps, installs, codes, tokens, visitors, reset.

use chronik_domain::tenancy::{BearerKind, Email, Scopes};
use chronik_domain::AppId;
use chronik_domain::{AccountId, Secret, TokenHash};
use chronik_store::{
    Grant, NewApp, NewAppIcon, NewAuthorizationCode, NewPrivateApp, NewTokens, Store, StoreError,
};
use chrono::{Duration, Utc};

use crate::conformance;
use crate::fixture::Fixture;

conformance!(
    accounts_get_distinct_ids_and_survive_a_reopen,
    unknown_account_is_not_found,
    private_app_token_acts_only_in_its_account,
    apps_are_found_by_client_id_and_developer_key,
    install_issues_tokens_that_refresh_until_revoked,
    refresh_token_of_another_app_is_refused,
    authorization_code_is_redeemed_exactly_once,
    concurrent_redeems_of_one_code_yield_one_grant,
    expired_or_misdirected_code_is_refused,
    visitor_links_find_contacts_case_insensitively,
    concurrent_links_of_one_new_email_create_one_contact,
    reset_removes_records_but_keeps_credentials,
    racing_account_creates_all_commit,
    time_zone_defaults_to_utc_and_survives_a_reopen,
    time_zone_of_an_unknown_account_is_not_found,
    app_icon_is_set_replaced_read_and_deleted,
    app_icon_of_an_unknown_app_is_not_found,
);

fn scopes(list: &[&str]) -> Scopes {
    Scopes::from_stored(list.iter().map(|s| (*s).to_owned()))
}

async fn new_app(store: &dyn Store, name: &str) -> (chronik_store::App, Secret, Secret) {
    let key = Secret::generate("dev-");
    let secret = Secret::generate("cs-");
    let app = store
        .create_app(
            NewApp {
                name: name.into(),
                developer_key: key.hash(),
                client_id: Secret::generate_uuid_shaped().expose().to_owned(),
                client_secret: secret.hash(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    (app, key, secret)
}

fn fresh_tokens() -> (Secret, Secret, NewTokens) {
    let access = Secret::generate("at-");
    let refresh = Secret::generate("rt-");
    let tokens = NewTokens {
        access: access.hash(),
        access_expires_at: Utc::now() + Duration::minutes(30),
        refresh: refresh.hash(),
    };
    (access, refresh, tokens)
}

fn grant(account: AccountId, app: &chronik_store::App, list: &[&str]) -> Grant {
    Grant {
        account,
        app: app.id,
        scopes: scopes(list),
        user: "dev@example.com".into(),
        user_id: 7,
    }
}

async fn accounts_get_distinct_ids_and_survive_a_reopen(fx: &Fixture) {
    let store = fx.open().await;
    let a = store.create_account("Acme", Utc::now()).await.unwrap();
    let b = store.create_account("Globex", Utc::now()).await.unwrap();
    assert_ne!(a.id, b.id);
    assert!(a.id.0 > 100_000, "portal ids look like HubSpot's: {}", a.id);
    drop(store);
    let reopened = fx.open().await;
    assert_eq!(reopened.get_account(a.id).await.unwrap().name, "Acme");
    let all = reopened.list_accounts().await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        vec!["Acme", "Globex"]
    );
}

async fn unknown_account_is_not_found(fx: &Fixture) {
    let store = fx.open().await;
    assert!(matches!(
        store.get_account(AccountId(42)).await,
        Err(StoreError::NotFound)
    ));
    let r = store
        .create_private_app(
            AccountId(42),
            NewPrivateApp {
                name: "x".into(),
                scopes: scopes(&[]),
                token: TokenHash::of("t"),
            },
            Utc::now(),
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert!(matches!(
        store.reset_account(AccountId(42)).await,
        Err(StoreError::NotFound)
    ));
    let email = Email::parse("email", "a@b.c").unwrap();
    assert!(matches!(
        store
            .link_visitor(AccountId(42), "utk", &email, Utc::now())
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn private_app_token_acts_only_in_its_account(fx: &Fixture) {
    let store = fx.open().await;
    let a = store.create_account("A", Utc::now()).await.unwrap();
    let b = store.create_account("B", Utc::now()).await.unwrap();
    let token_a = Secret::generate("pat-");
    let token_b = Secret::generate("pat-");
    let pa = store
        .create_private_app(
            a.id,
            NewPrivateApp {
                name: "pa".into(),
                scopes: scopes(&["crm.objects.contacts.read"]),
                token: token_a.hash(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    store
        .create_private_app(
            b.id,
            NewPrivateApp {
                name: "pb".into(),
                scopes: scopes(&["timeline"]),
                token: token_b.hash(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let grant = store.bearer(&token_a.hash()).await.unwrap();
    assert_eq!(grant.account, a.id);
    assert_eq!(grant.kind, BearerKind::PrivateApp { private_app: pa.id });
    assert!(grant.scopes.contains("crm.objects.contacts.read"));
    assert_eq!(grant.expires_at, None);
    assert_eq!(store.bearer(&token_b.hash()).await.unwrap().account, b.id);
    assert!(matches!(
        store.bearer(&TokenHash::of("nope")).await,
        Err(StoreError::NotFound)
    ));
    // The same token hash cannot be registered twice.
    let dup = store
        .create_private_app(
            b.id,
            NewPrivateApp {
                name: "dup".into(),
                scopes: scopes(&[]),
                token: token_a.hash(),
            },
            Utc::now(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
}

async fn apps_are_found_by_client_id_and_developer_key(fx: &Fixture) {
    let store = fx.open().await;
    let (app, key, secret) = new_app(&*store, "Timeline app").await;
    assert!(app.id.0 > 1_000_000);
    assert_eq!(store.get_app(app.id).await.unwrap(), app);
    let by_client = store.app_by_client_id(&app.client_id).await.unwrap();
    assert_eq!(by_client.id, app.id);
    assert_eq!(by_client.client_secret, secret.hash());
    assert_eq!(
        store.app_by_developer_key(&key.hash()).await.unwrap().id,
        app.id
    );
    assert!(matches!(
        store.app_by_client_id("other").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.app_by_developer_key(&TokenHash::of("other")).await,
        Err(StoreError::NotFound)
    ));
}

async fn install_issues_tokens_that_refresh_until_revoked(fx: &Fixture) {
    let store = fx.open().await;
    let account = store.create_account("A", Utc::now()).await.unwrap();
    let (app, _, _) = new_app(&*store, "app").await;
    let g = grant(account.id, &app, &["oauth", "timeline"]);
    let (access, refresh, tokens) = fresh_tokens();
    store.install_app(&g, &tokens, Utc::now()).await.unwrap();

    let bearer = store.bearer(&access.hash()).await.unwrap();
    assert_eq!(bearer.account, account.id);
    assert_eq!(bearer.kind, BearerKind::Install { app: app.id });
    assert!(bearer.scopes.contains("timeline"));
    let info = store.access_token(&access.hash()).await.unwrap();
    assert_eq!(info.grant, g);
    assert_eq!(
        info.expires_at.timestamp_millis(),
        tokens.access_expires_at.timestamp_millis()
    );
    let r = store.refresh_token(&refresh.hash()).await.unwrap();
    assert_eq!(r.grant, g);
    assert_eq!(r.client_id, app.client_id);

    let second = Secret::generate("at-");
    let refreshed = store
        .refresh_access_token(
            app.id,
            &refresh.hash(),
            &second.hash(),
            Utc::now() + Duration::minutes(30),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(refreshed, g);
    assert_eq!(
        store.bearer(&second.hash()).await.unwrap().account,
        account.id
    );

    store
        .revoke_refresh_token(&refresh.hash(), Utc::now())
        .await
        .unwrap();
    assert!(matches!(
        store.refresh_token(&refresh.hash()).await,
        Err(StoreError::NotFound)
    ));
    // Access tokens issued from a revoked refresh token stop working too.
    assert!(matches!(
        store.bearer(&access.hash()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.bearer(&second.hash()).await,
        Err(StoreError::NotFound)
    ));
    let again = store
        .refresh_access_token(
            app.id,
            &refresh.hash(),
            &Secret::generate("at-").hash(),
            Utc::now(),
            Utc::now(),
        )
        .await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    assert!(matches!(
        store
            .revoke_refresh_token(&refresh.hash(), Utc::now())
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn refresh_token_of_another_app_is_refused(fx: &Fixture) {
    let store = fx.open().await;
    let account = store.create_account("A", Utc::now()).await.unwrap();
    let (app, _, _) = new_app(&*store, "one").await;
    let (other, _, _) = new_app(&*store, "two").await;
    let (_, refresh, tokens) = fresh_tokens();
    store
        .install_app(&grant(account.id, &app, &["oauth"]), &tokens, Utc::now())
        .await
        .unwrap();
    let r = store
        .refresh_access_token(
            other.id,
            &refresh.hash(),
            &TokenHash::of("x"),
            Utc::now(),
            Utc::now(),
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
}

async fn code_for(
    store: &dyn Store,
    account: AccountId,
    app: &chronik_store::App,
    expires_in: Duration,
) -> Secret {
    let code = Secret::generate("code-");
    store
        .create_authorization_code(
            &NewAuthorizationCode {
                code: code.hash(),
                grant: grant(account, app, &["oauth"]),
                redirect_uri: "https://app.example/cb".into(),
                expires_at: Utc::now() + expires_in,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    code
}

async fn authorization_code_is_redeemed_exactly_once(fx: &Fixture) {
    let store = fx.open().await;
    let account = store.create_account("A", Utc::now()).await.unwrap();
    let (app, _, _) = new_app(&*store, "app").await;
    let code = code_for(&*store, account.id, &app, Duration::minutes(10)).await;
    let (access, _, tokens) = fresh_tokens();
    let g = store
        .redeem_authorization_code(
            app.id,
            &code.hash(),
            "https://app.example/cb",
            &tokens,
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(g.account, account.id);
    assert_eq!(
        store.bearer(&access.hash()).await.unwrap().account,
        account.id
    );
    let (_, _, tokens2) = fresh_tokens();
    let again = store
        .redeem_authorization_code(
            app.id,
            &code.hash(),
            "https://app.example/cb",
            &tokens2,
            Utc::now(),
        )
        .await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
}

async fn concurrent_redeems_of_one_code_yield_one_grant(fx: &Fixture) {
    let store = fx.open().await;
    let account = store.create_account("A", Utc::now()).await.unwrap();
    let (app, _, _) = new_app(&*store, "app").await;
    let code = code_for(&*store, account.id, &app, Duration::minutes(10)).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let code = code.hash();
        let app = app.id;
        tasks.push(tokio::spawn(async move {
            let (_, _, tokens) = fresh_tokens();
            store
                .redeem_authorization_code(
                    app,
                    &code,
                    "https://app.example/cb",
                    &tokens,
                    Utc::now(),
                )
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::NotFound) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

async fn expired_or_misdirected_code_is_refused(fx: &Fixture) {
    let store = fx.open().await;
    let account = store.create_account("A", Utc::now()).await.unwrap();
    let (app, _, _) = new_app(&*store, "app").await;
    let (other, _, _) = new_app(&*store, "other").await;
    let expired = code_for(&*store, account.id, &app, Duration::seconds(-1)).await;
    let (_, _, tokens) = fresh_tokens();
    let r = store
        .redeem_authorization_code(
            app.id,
            &expired.hash(),
            "https://app.example/cb",
            &tokens,
            Utc::now(),
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "expired: {r:?}");
    let live = code_for(&*store, account.id, &app, Duration::minutes(10)).await;
    let r = store
        .redeem_authorization_code(
            app.id,
            &live.hash(),
            "https://elsewhere.example/cb",
            &tokens,
            Utc::now(),
        )
        .await;
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "other redirect: {r:?}"
    );
    let r = store
        .redeem_authorization_code(
            other.id,
            &live.hash(),
            "https://app.example/cb",
            &tokens,
            Utc::now(),
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "other app: {r:?}");
    // A failed exchange does not consume the code.
    store
        .redeem_authorization_code(
            app.id,
            &live.hash(),
            "https://app.example/cb",
            &tokens,
            Utc::now(),
        )
        .await
        .unwrap();
}

async fn visitor_links_find_contacts_case_insensitively(fx: &Fixture) {
    let store = fx.open().await;
    let a = store.create_account("A", Utc::now()).await.unwrap();
    let b = store.create_account("B", Utc::now()).await.unwrap();
    let first = store
        .link_visitor(
            a.id,
            "utk-1",
            &Email::parse("email", "Ada@Example.com").unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(first.contact_created);
    let second = store
        .link_visitor(
            a.id,
            "utk-2",
            &Email::parse("email", "ada@example.COM").unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(second.contact, first.contact);
    assert!(!second.contact_created);
    // Another account has its own contacts.
    let other = store
        .link_visitor(
            b.id,
            "utk-1",
            &Email::parse("email", "ada@example.com").unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(other.contact_created);
}

async fn concurrent_links_of_one_new_email_create_one_contact(fx: &Fixture) {
    let store = fx.open().await;
    let a = store.create_account("A", Utc::now()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let email = Email::parse("email", "race@example.com").unwrap();
            store
                .link_visitor(a.id, &format!("utk-{i}"), &email, Utc::now())
                .await
                .unwrap()
        }));
    }
    let mut links = Vec::new();
    for t in tasks {
        links.push(t.await.unwrap());
    }
    assert_eq!(links.iter().filter(|l| l.contact_created).count(), 1);
    assert!(links.iter().all(|l| l.contact == links[0].contact));
}

async fn reset_removes_records_but_keeps_credentials(fx: &Fixture) {
    let store = fx.open().await;
    let a = store.create_account("A", Utc::now()).await.unwrap();
    let b = store.create_account("B", Utc::now()).await.unwrap();
    let token = Secret::generate("pat-");
    store
        .create_private_app(
            a.id,
            NewPrivateApp {
                name: "p".into(),
                scopes: scopes(&[]),
                token: token.hash(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let email = Email::parse("email", "x@example.com").unwrap();
    store
        .link_visitor(a.id, "u", &email, Utc::now())
        .await
        .unwrap();
    store
        .link_visitor(b.id, "u", &email, Utc::now())
        .await
        .unwrap();
    store.reset_account(a.id).await.unwrap();
    assert_eq!(store.bearer(&token.hash()).await.unwrap().account, a.id);
    // The contact is gone in A (a new link creates it again) and untouched in B.
    assert!(
        store
            .link_visitor(a.id, "u", &email, Utc::now())
            .await
            .unwrap()
            .contact_created
    );
    assert!(
        !store
            .link_visitor(b.id, "u", &email, Utc::now())
            .await
            .unwrap()
            .contact_created
    );
}

async fn racing_account_creates_all_commit(fx: &Fixture) {
    let store = fx.open().await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_account(&format!("acct {i}"), Utc::now())
                .await
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 64);
    drop(store);
    assert_eq!(fx.open().await.list_accounts().await.unwrap().len(), 64);
}

async fn time_zone_defaults_to_utc_and_survives_a_reopen(fx: &Fixture) {
    let store = fx.open().await;
    let a = store.create_account("Acme", Utc::now()).await.unwrap();
    let b = store.create_account("Globex", Utc::now()).await.unwrap();
    assert_eq!(a.time_zone, "UTC");
    assert_eq!(store.get_account(a.id).await.unwrap().time_zone, "UTC");
    let set = store
        .set_account_time_zone(a.id, "Europe/Berlin")
        .await
        .unwrap();
    assert_eq!(
        (set.id, set.name.as_str(), set.time_zone.as_str()),
        (a.id, "Acme", "Europe/Berlin")
    );
    drop(store);
    let reopened = fx.open().await;
    assert_eq!(
        reopened.get_account(a.id).await.unwrap().time_zone,
        "Europe/Berlin"
    );
    // Only that account changed.
    assert_eq!(reopened.get_account(b.id).await.unwrap().time_zone, "UTC");
    let listed = reopened.list_accounts().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|a| a.time_zone.as_str())
            .collect::<Vec<_>>(),
        vec!["Europe/Berlin", "UTC"]
    );
}

async fn time_zone_of_an_unknown_account_is_not_found(fx: &Fixture) {
    let store = fx.open().await;
    let r = store.set_account_time_zone(AccountId(42), "UTC").await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
}

fn icon(content_type: &str, original: &[u8], rendition: &[u8]) -> NewAppIcon {
    NewAppIcon {
        content_type: content_type.into(),
        original: original.to_vec(),
        rendition_png: rendition.to_vec(),
    }
}

async fn app_icon_is_set_replaced_read_and_deleted(fx: &Fixture) {
    let store = fx.open().await;
    let (app, _, _) = new_app(store.as_ref(), "with icon").await;
    let (other, _, _) = new_app(store.as_ref(), "without").await;
    assert!(matches!(
        store.app_icon(app.id).await,
        Err(StoreError::NotFound)
    ));
    let first = store
        .set_app_icon(
            app.id,
            icon("image/svg+xml", b"<svg/>", b"png-1"),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        (first.app, first.content_type.as_str(), first.original_bytes),
        (app.id, "image/svg+xml", 6)
    );
    assert_eq!(first.rendition_png, b"png-1");
    // A second upload replaces the first, whole.
    let original = vec![7u8; 70_000];
    store
        .set_app_icon(app.id, icon("image/png", &original, b"png-2"), Utc::now())
        .await
        .unwrap();
    drop(store);
    let store = fx.open().await;
    let read = store.app_icon(app.id).await.unwrap();
    assert_eq!(
        (read.content_type.as_str(), read.original_bytes),
        ("image/png", 70_000)
    );
    assert_eq!(read.rendition_png, b"png-2");
    let kept = store.app_icon_original(app.id).await.unwrap();
    assert_eq!(kept.content_type, "image/png");
    assert_eq!(kept.bytes, original);
    assert!(matches!(
        store.app_icon(other.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_app_icon(app.id).await.unwrap();
    assert!(matches!(
        store.app_icon(app.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.app_icon_original(app.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_app_icon(app.id).await,
        Err(StoreError::NotFound)
    ));
    // The app itself stays.
    assert_eq!(store.get_app(app.id).await.unwrap().name, "with icon");
}

async fn app_icon_of_an_unknown_app_is_not_found(fx: &Fixture) {
    let store = fx.open().await;
    let r = store
        .set_app_icon(AppId(42), icon("image/png", b"x", b"y"), Utc::now())
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert!(matches!(
        store.delete_app_icon(AppId(42)).await,
        Err(StoreError::NotFound)
    ));
}
