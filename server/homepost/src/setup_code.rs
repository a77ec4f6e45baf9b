//! The first-run setup code on the console: the code, the addresses that carry it
//! and a QR code, for claiming a new box from a phone (docs/web.md).

use anyhow::Result;

/// The box's host name (its first label, for `NAME.local` on the home network),
/// if it has a usable one.
pub fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim().split('.').next()?.to_ascii_lowercase();
    (!name.is_empty()
        && name != "localhost"
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    .then_some(name)
}

/// The address this box would use towards other machines (the one a phone on the
/// home network reaches it by). A UDP socket's `connect` only picks the route: no
/// packet is sent.
fn lan_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // A documentation address (RFC 5737): never contacted, only routed.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Prints the first-run setup code, the address that carries it and a QR code
/// of that address, for claiming the box from a phone. Whoever can read this
/// (the box's screen, its journal) can claim the box; on the box itself the
/// code is not needed.
pub fn print(running: &homepost_web::Running, lan_name: Option<&str>, token: &str) -> Result<()> {
    let port = running.addr.port();
    // Listening on every address: by the address the home network sees (what the
    // QR code carries: not every phone resolves .local names), and by name.
    let hosts: Vec<String> = if running.addr.ip().is_unspecified() {
        lan_address()
            .map(|ip| std::net::SocketAddr::new(ip, port).to_string())
            .into_iter()
            .chain(lan_name.map(|name| format!("{name}.local:{port}")))
            .collect()
    } else {
        vec![running.addr.to_string()]
    };
    outln!("To create the vault from another device, use the setup code {token}");
    let scheme = if running.fingerprint.is_some() {
        "https"
    } else {
        "http"
    };
    let urls: Vec<zeroize::Zeroizing<String>> = hosts
        .iter()
        .map(|host| zeroize::Zeroizing::new(format!("{scheme}://{host}/#setup={token}")))
        .collect();
    for url in &urls {
        outln!("or open {}", url.as_str());
    }
    let Some(url) = urls.first() else {
        return Ok(());
    };
    if let Some(art) = terminal_qr(url) {
        outln!("{art}");
    }
    Ok(())
}

/// `text` as a QR code for the terminal, two rows of modules a line.
pub fn terminal_qr(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build(),
    )
}
