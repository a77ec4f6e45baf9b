//! homepost-onion against a real private Tor network on loopback
//! (tests/peers/tor-net): the onion service, restricted discovery and the Tor
//! dialer. One test binary, so a test run starts at most one network (about
//! 40 s); set `HOMEPOST_TOR_NET=DIR` to use one started by hand instead.

mod network;

mod dialer;
mod onion;
mod restricted;
