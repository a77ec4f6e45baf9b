//! `homepost discover ADDRESS`: finds an address's servers as the setup wizard
//! does, says where each configuration came from, and prints the
//! `homepost account add` line for the best one (or every source tried, when
//! nothing was found).

use std::sync::Arc;

use anyhow::{Context, Result};
use homepost_autoconfig::{
    Candidate, Discoverer, Discovery, EmailAddress, HickoryDns, Options, Protocol, Security, Server,
};
use homepost_mail::text::terminal_safe;
use serde_json::json;

use crate::cli_account::DiscoverArgs;

/// Runs discovery directly (no Tor: the command line has no Tor client) and prints it.
pub async fn run(args: &DiscoverArgs) -> Result<()> {
    let dns = match args.name_server {
        Some(addr) => Some(HickoryDns::with_name_server(addr)),
        None => HickoryDns::system().ok(),
    };
    let mut discoverer = Discoverer::new(Arc::new(homepost_net::Direct)).with_options(Options {
        ispdb: (!args.no_ispdb).then(|| homepost_autoconfig::ISPDB_URL.to_owned()),
        ..Options::default()
    });
    if let Some(dns) = dns {
        discoverer = discoverer.with_dns(Arc::new(dns));
    }
    let found = discoverer
        .discover(args.address.trim())
        .await
        .context("cannot look that address up")?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&as_json(&found))?);
    } else {
        print(&found)?;
    }
    Ok(())
}

fn security(s: Security) -> &'static str {
    match s {
        Security::Tls => "tls",
        Security::StartTls => "starttls",
        Security::Plain => "plain",
    }
}

fn server_json(s: &Server, address: &EmailAddress) -> serde_json::Value {
    json!({
        "protocol": s.protocol.as_str(), "host": s.host, "port": s.port,
        "security": security(s.security), "username": s.username.for_address(address),
        "oauth2_only": s.needs_oauth2(),
    })
}

fn as_json(found: &Discovery) -> serde_json::Value {
    let a = &found.address;
    let candidate = |c: &Candidate| {
        json!({
            "source": c.source.code(), "from": c.source.describe(a.domain()),
            "provider": c.provider,
            "incoming": c.incoming.iter().map(|s| server_json(s, a)).collect::<Vec<_>>(),
            "outgoing": c.outgoing.iter().map(|s| server_json(s, a)).collect::<Vec<_>>(),
        })
    };
    json!({
        "email": a.to_string(),
        "candidates": found.candidates.iter().map(candidate).collect::<Vec<_>>(),
        "hints": found.hints.iter().map(|h| json!({
            "provider": h.provider, "kind": h.kind.code(), "text": h.text,
        })).collect::<Vec<_>>(),
        "log": found.log.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn line(s: &Server, address: &EmailAddress) -> String {
    terminal_safe(&format!(
        "{} {}:{} ({}), user {}",
        s.protocol.as_str(),
        s.host,
        s.port,
        security(s.security),
        s.username.for_address(address)
    ))
}

fn print(found: &Discovery) -> Result<()> {
    let a = &found.address;
    for hint in &found.hints {
        outln!("Note ({}): {}", hint.provider, terminal_safe(&hint.text));
    }
    let Some(best) = found.best() else {
        outln!("No complete configuration found for {a}. What was tried:");
        for attempt in &found.log {
            outln!("  {}", terminal_safe(&attempt.to_string()));
        }
        outln!("Add the account with the servers your provider documents (homepost account add).");
        return Ok(());
    };
    for c in &found.candidates {
        let mark = if c == best { "best: " } else { "" };
        outln!(
            "{mark}from {}",
            terminal_safe(&c.source.describe(a.domain()))
        );
        for s in c.incoming.iter().chain(&c.outgoing) {
            outln!("    {}", line(s, a));
        }
    }
    let (incoming, outgoing) = (&best.incoming[0], &best.outgoing[0]);
    let flag = if incoming.protocol == Protocol::Pop3 {
        "--pop3"
    } else {
        "--imap"
    };
    outln!(
        "To add it: homepost account add --name NAME --email {a} {flag} {}:{} --incoming-security {} --incoming-user {} --smtp {}:{} --smtp-security {} --smtp-user {}",
        incoming.host,
        incoming.port,
        security(incoming.security),
        incoming.username.for_address(a),
        outgoing.host,
        outgoing.port,
        security(outgoing.security),
        outgoing.username.for_address(a),
    );
    Ok(())
}
